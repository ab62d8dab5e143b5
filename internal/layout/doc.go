// Package layout holds no code: its test keeps the dependency rules of the
// module (which of our packages may import which, and which package owns
// each outside library), so a change that breaks them fails with a message
// saying which rule and why.
package layout
