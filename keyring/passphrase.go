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

// AddNew creates a new key under name, sealed with a new passphrase
// (ReadPassphrase, confirmed) unless unencrypted.
func (d Dir) AddNew(name string, unencrypted bool) (*File, error) {
	pass := ""
	if !unencrypted {
		var err error
		if pass, err = ReadPassphrase("New passphrase: ", true); err != nil {
			return nil, err
		}
	}
	return d.Add(name, pass, unencrypted)
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

// ImportFile stores under name the key the file at path holds (Parse: a
// key file 'primum keys export' wrote, or a hex seed), opened with its
// passphrase when it is encrypted, and sealed with a new one
// (ReadPassphrase, confirmed) unless unencrypted. Where a patient's key
// holds pseudonyms (File.Pseudonyms) comes along.
func (d Dir) ImportFile(name, path string, unencrypted bool) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kf, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s is %w", path, err)
	}
	old := ""
	if kf.Encrypted {
		if old, err = ReadPassphrase("Passphrase of the imported key: ", false); err != nil {
			return nil, err
		}
	}
	key, err := kf.Open(old)
	if err != nil {
		return nil, err
	}
	pass := ""
	if !unencrypted {
		if pass, err = ReadPassphrase("New passphrase: ", true); err != nil {
			return nil, err
		}
	}
	f, err := d.Import(name, key, pass, unencrypted)
	if err != nil {
		return nil, err
	}
	if len(kf.Pseudonyms) > 0 {
		if err := d.AddPseudonyms(name, kf.Pseudonyms...); err != nil {
			return nil, err
		}
	}
	return f, nil
}
