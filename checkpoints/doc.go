// Package checkpoints will hold run directories, atomic save, resume state, retention and listing.
// It must not know model internals beyond save and load.
package checkpoints
