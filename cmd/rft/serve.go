package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rft-dev/rft/rollout/server"
	"github.com/spf13/cobra"
)

// serveGrace is how long requests in flight may run after SIGINT/SIGTERM.
const serveGrace = 30 * time.Second

func newServeCmd() *cobra.Command {
	var dir, addr, name, apiKey string
	cmd := &cobra.Command{
		Use:   "serve --model DIR [--addr 127.0.0.1:11434] [--name NAME] [--api-key KEY]",
		Short: "Serve a model directory over the Ollama and OpenAI HTTP APIs",
		Long: `Serves a Hugging Face model directory (config.json, model.safetensors,
tokenizer.json) with rft's engine over the Ollama API (/api/generate, /api/chat,
/api/tags, /api/show, /api/ps, /api/version) and the OpenAI API (/v1/models,
/v1/chat/completions, /v1/completions). Responses carry the token ids of prompt
and completion and the weight version; "sampled_logprobs": true asks for the
log-probabilities of the distribution actually sampled.

Weights are swapped without a restart: POST /rft/reload (body {"path": DIR} or
empty for --model), PUT /rft/weights with a model.safetensors body, or SIGHUP
(reloads --model). Requests in flight finish on the weights they started with.

The API key (--api-key or RFT_API_KEY) protects every route but /. The server
binds 127.0.0.1 unless --addr says otherwise. SIGINT or SIGTERM stops it after
the requests in flight finish (at most 30 s).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return inputErr(fmt.Errorf("--model is required"))
			}
			if apiKey == "" {
				apiKey = os.Getenv("RFT_API_KEY")
			}
			srv, err := server.New(server.Options{ModelDir: dir, Name: name, APIKey: apiKey, Version: buildVersion(), Logger: slog.Default()})
			if err != nil {
				return inputErr(err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return inputErr(fmt.Errorf("--addr: %w", err))
			}
			if host, _, _ := net.SplitHostPort(ln.Addr().String()); apiKey == "" && !net.ParseIP(host).IsLoopback() {
				slog.Warn("serving beyond loopback without an API key: anyone who can reach the port can generate and replace the weights", "addr", ln.Addr().String())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						if v, err := srv.Reload("", ""); err != nil {
							slog.Error("SIGHUP: reload failed; still serving the previous weights", "err", err)
						} else {
							slog.Info("SIGHUP: reloaded", "weight_version", v)
						}
					}
				}
			}()
			slog.Info("serving", "model", srv.Name(), "dir", dir, "addr", "http://"+ln.Addr().String(), "weight_version", srv.WeightVersion(), "auth", apiKey != "")
			if err := srv.Serve(ctx, ln, serveGrace); err != nil {
				return err
			}
			slog.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "model", "", "model directory (config.json, model.safetensors, tokenizer.json)")
	f.StringVar(&addr, "addr", "127.0.0.1:11434", "listen address")
	f.StringVar(&name, "name", "", "model name clients use (default: the directory's base name)")
	f.StringVar(&apiKey, "api-key", "", "require Authorization: Bearer KEY on every route but / (default $RFT_API_KEY)")
	return cmd
}
