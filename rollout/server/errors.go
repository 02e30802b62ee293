package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiError is a request the server refuses, with what each API's error
// body needs: the HTTP status, a message, and for OpenAI the parameter at
// fault and a machine-readable code.
type apiError struct {
	status int
	msg    string
	param  string // OpenAI "param"; "" is null
	code   any    // OpenAI "code"; nil is null
}

func (e *apiError) Error() string { return e.msg }

func badRequest(param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...), param: param, code: "invalid_value"}
}

// readJSON decodes a request body into v. Bodies over maxJSONBody are 413;
// an empty body, malformed JSON and values of the wrong type are 400.
func readJSON(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("request body exceeds %d bytes", maxJSONBody)}
		}
		return &apiError{status: http.StatusBadRequest, msg: "reading the request body: " + err.Error()}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return &apiError{status: http.StatusBadRequest, msg: "missing request body"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			// Embedded request structs appear in the path by their Go name.
			field := strings.TrimPrefix(te.Field, "openaiSampling.")
			if field == "" {
				return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("the request body must be a JSON object, not %s", te.Value), code: "invalid_type"}
			}
			return &apiError{status: http.StatusBadRequest, msg: fmt.Sprintf("invalid type for '%s': expected %s, but got %s instead", field, jsonKind(te.Type.Kind().String()), te.Value), param: field, code: "invalid_type"}
		}
		if ae, ok := errors.AsType[*apiError](err); ok {
			return ae
		}
		return &apiError{status: http.StatusBadRequest, msg: "could not parse the JSON body of the request: " + err.Error()}
	}
	return nil
}

// jsonKind names a Go kind in JSON's terms.
func jsonKind(k string) string {
	switch k {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return k
}

// genError maps an error from generation to a status: a client that went
// away is 499 (as Ollama logs it), anything else a server error.
func genError(err error) *apiError {
	if ae, ok := errors.AsType[*apiError](err); ok {
		return ae
	}
	if errors.Is(err, context.Canceled) {
		return &apiError{status: 499, msg: "request canceled"}
	}
	return &apiError{status: http.StatusInternalServerError, msg: err.Error()}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ollamaError writes Ollama's error body, {"error": "..."}.
func ollamaError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// openaiError writes OpenAI's error body,
// {"error": {"message", "type", "param", "code"}}.
func openaiError(w http.ResponseWriter, status int, msg, typ, param string, code any) {
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": code}})
}

func writeOpenAIError(w http.ResponseWriter, e *apiError) {
	typ := "invalid_request_error"
	if e.status >= 500 {
		typ = "server_error"
	}
	openaiError(w, e.status, e.msg, typ, e.param, e.code)
}
