"""Pure logic of Heard: no I/O, no Qt, no wall clock. Time is always passed in."""
