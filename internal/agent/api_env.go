package agent

import (
	"context"
	"fmt"
	"io"

	"github.com/pkfs/pkfs/vaultstore"
)

// EnvParams are the parameters of secrets.env: the secrets to turn into
// environment variables.
type EnvParams struct {
	Targets []SecretParams `json:"targets"`
}

// EnvItem is one file found by secrets.env: Name is its base name; the
// client turns it into a variable name and applies its rules.
type EnvItem struct {
	Vault string `json:"vault"`
	Path  string `json:"path"`
	Name  string `json:"name"`
	Value []byte `json:"value"` // base64 in JSON: binary-safe
}

// maxEnvValue bounds one environment value (Linux limits one argument or
// environment string to 128 KiB).
const maxEnvValue = 128 << 10

func init() {
	register("secrets.env", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p EnvParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		var out []EnvItem
		for _, t := range p.Targets {
			items, err := s.envItems(t)
			if err != nil {
				return nil, err
			}
			out = append(out, items...)
		}
		if out == nil {
			out = []EnvItem{}
		}
		return out, nil
	})
}

// envItems returns the file at t, or every file under the directory at t.
func (s *Service) envItems(t SecretParams) ([]EnvItem, error) {
	v, snap, err := s.snapshot(t.Vault, t.Rev)
	if err != nil {
		return nil, err
	}
	e, err := snap.Stat(t.Path)
	if err != nil {
		return nil, err
	}
	var files []vaultstore.Entry
	if e.Type == vaultstore.TypeDir {
		err = snap.Walk(t.Path, func(e vaultstore.Entry) error {
			if e.Type == vaultstore.TypeFile {
				files = append(files, e)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		files = []vaultstore.Entry{e}
	}
	out := make([]EnvItem, 0, len(files))
	for _, f := range files {
		if f.Size > maxEnvValue {
			return nil, Errorf(KindTooLarge, fmt.Sprintf("%s:%s is larger than %d bytes, too large for an environment variable", v.Name(), f.Path, maxEnvValue))
		}
		b, err := snap.Open(f.Path)
		if err != nil {
			return nil, err
		}
		val, err := io.ReadAll(b.Reader())
		if err != nil {
			return nil, err
		}
		out = append(out, EnvItem{Vault: v.Name(), Path: f.Path, Name: baseName(f.Path), Value: val})
	}
	return out, nil
}
