"""Getting Heard ready on a machine, Qt-free: account setup, importing clients, the demo
profile, the installation self-test. Used by the CLI and the GUI alike."""
