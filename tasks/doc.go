// Package tasks will hold the built-in task suites, tailworld first; its ground truth lives in an
// internal package that nothing outside the oracle and eval adapters may import.
package tasks
