package main

// Backends that register themselves with rollout (and rubric) by name: the
// CLI links them so that specs like `sim` resolve; the packages that use the
// specs never import them.
import _ "github.com/rft-dev/rft/tasks/tailworld/sim"
