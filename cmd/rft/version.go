package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X main.version=v0.1.0".
var version = "dev"

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return version
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the rft version, Go version and compute backend",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			info := map[string]string{
				"version": buildVersion(),
				"go":      runtime.Version(),
				"os_arch": runtime.GOOS + "/" + runtime.GOARCH,
				"matmul":  matmulBackend(),
			}
			w := cmd.OutOrStdout()
			if global.json {
				return json.NewEncoder(w).Encode(info)
			}
			_, err := fmt.Fprintf(w, "rft %s (%s, %s, matmul %s)\n", info["version"], info["go"], info["os_arch"], info["matmul"])
			return err
		},
	}
}
