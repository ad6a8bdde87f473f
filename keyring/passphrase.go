package keyring

import (
	"crypto/ed25519"
	"fmt"
	"os"

	"golang.org/x/term"
)

// ReadPassphrase is PRIMUM_PASSPHRASE when it is set (the node opens its
// keys with it too), or else what the person at the terminal types after
// prompt on stderr, unechoed; with confirm, typed twice alike. Without a
// terminal it fails, saying to set the variable.
func ReadPassphrase(prompt string, confirm bool) (string, error) {
	if p, ok := os.LookupEnv("PRIMUM_PASSPHRASE"); ok {
		return p, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", fmt.Errorf("no terminal to ask for a passphrase: set PRIMUM_PASSPHRASE")
	}
	fmt.Fprint(os.Stderr, prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if confirm {
		fmt.Fprint(os.Stderr, "Repeat passphrase: ")
		b2, err := term.ReadPassword(fd)
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", fmt.Errorf("passphrases do not match")
		}
	}
	return string(b), nil
}

// Unlock opens the key ref names (Find: a name here or a key file's path),
// reading its passphrase (ReadPassphrase) when it is encrypted.
func (d Dir) Unlock(ref string) (ed25519.PrivateKey, error) {
	f, err := d.Find(ref)
	if err != nil {
		return nil, err
	}
	pass := ""
	if f.Encrypted {
		if pass, err = ReadPassphrase("Passphrase for key "+f.Name+": ", false); err != nil {
			return nil, err
		}
	}
	return f.Open(pass)
}
