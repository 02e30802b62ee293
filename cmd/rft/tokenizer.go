package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/rft-dev/rft/policy/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizerCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tokenizer", Short: "Train byte-level BPE tokenizers and inspect encodings"}
	cmd.AddCommand(newTokenizerTrainCmd(), newTokenizerEncodeCmd())
	return cmd
}

func newTokenizerTrainCmd() *cobra.Command {
	var corpus, out string
	var vocab int
	cmd := &cobra.Command{
		Use:   "train --corpus FILE --vocab-size N --out tokenizer.json",
		Short: "Train a byte-level BPE tokenizer (Qwen2 layout) on a corpus",
		Long: `Trains a deterministic byte-level BPE tokenizer and writes it as a Hugging Face
tokenizer.json. The corpus is plain text, or JSONL with {"text": ...} per line
when the file ends in .jsonl (documents are separated by <|endoftext|>).
The vocab size counts the 256 byte tokens, the merges and the special tokens
` + strings.Join(tokenizer.DefaultSpecials, " ") + `.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case corpus == "":
				return inputErr(errors.New("tokenizer train: --corpus is required"))
			case out == "":
				return inputErr(errors.New("tokenizer train: --out is required"))
			case vocab <= 0:
				return inputErr(errors.New("tokenizer train: --vocab-size must be positive"))
			}
			text, err := readCorpus(corpus)
			if err != nil {
				return inputErr(err)
			}
			tok, err := tokenizer.Train(strings.NewReader(text), vocab, tokenizer.DefaultSpecials)
			if err != nil {
				return inputErr(fmt.Errorf("%s: %w", corpus, err))
			}
			if err := tok.Save(out); err != nil {
				return err
			}
			if global.json {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"out": out, "vocab_size": tok.VocabSize()})
			}
			slog.Info("tokenizer trained", "out", out, "vocab_size", tok.VocabSize())
			return nil
		},
	}
	cmd.Flags().StringVar(&corpus, "corpus", "", "plain text, or .jsonl with {\"text\": ...} per line")
	cmd.Flags().IntVar(&vocab, "vocab-size", 0, "tokens in all: 256 bytes + merges + special tokens")
	cmd.Flags().StringVar(&out, "out", "", "tokenizer.json to write")
	return cmd
}

// readCorpus reads plain text, or the "text" fields of a .jsonl file joined
// by <|endoftext|> (a special token, so no merge spans two documents).
func readCorpus(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(filepath.Ext(path), ".jsonl") {
		return string(data), nil
	}
	var docs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(b, &rec); err != nil {
			return "", fmt.Errorf("%s line %d: not a JSON object: %w", path, line, err)
		}
		if rec.Text == nil {
			return "", fmt.Errorf("%s line %d: no \"text\" field", path, line)
		}
		docs = append(docs, *rec.Text)
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return strings.Join(docs, tokenizer.EndOfText), nil
}

func newTokenizerEncodeCmd() *cobra.Command {
	var tokPath, text, file string
	var ordinary bool
	cmd := &cobra.Command{
		Use:   "encode --tokenizer FILE (--text TEXT | --file FILE)",
		Short: "Print token ids as a JSON array per input line",
		Long: `Encodes --text (one input) or each line of --file (without its newline) and
prints one JSON array of ids per input. Special tokens written in the text are
matched unless --ordinary is given.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tokPath == "" {
				return inputErr(errors.New("tokenizer encode: --tokenizer is required"))
			}
			if cmd.Flags().Changed("text") == cmd.Flags().Changed("file") {
				return inputErr(errors.New("tokenizer encode: give exactly one of --text and --file"))
			}
			tok, err := tokenizer.Load(tokPath)
			if err != nil {
				return inputErr(err)
			}
			encode := tok.Encode
			if ordinary {
				encode = tok.EncodeOrdinary
			}
			w := bufio.NewWriter(cmd.OutOrStdout())
			emit := func(s string) error {
				ids := encode(s)
				if ids == nil {
					ids = []int{}
				}
				b, _ := json.Marshal(ids)
				w.Write(b)
				return w.WriteByte('\n')
			}
			if file == "" {
				emit(text)
				return w.Flush()
			}
			f, err := os.Open(file)
			if err != nil {
				return inputErr(err)
			}
			defer f.Close()
			r := bufio.NewReader(f)
			for {
				line, err := r.ReadString('\n')
				if line != "" {
					emit(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					return inputErr(fmt.Errorf("%s: %w", file, err))
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&tokPath, "tokenizer", "", "tokenizer.json")
	cmd.Flags().StringVar(&text, "text", "", "text to encode")
	cmd.Flags().StringVar(&file, "file", "", "file whose lines to encode")
	cmd.Flags().BoolVar(&ordinary, "ordinary", false, "do not match special tokens in the text")
	return cmd
}
