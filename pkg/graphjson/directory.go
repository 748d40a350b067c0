package graphjson

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/credres/credres/pkg/model"
)

// directoryJSON is a snapshot as written: model.Directory with each user's
// methods kept as the Graph objects they are, to be decoded by DecodeMethod.
type directoryJSON struct {
	Tenant model.Tenant `json:"tenant"`
	Users  []userJSON   `json:"users"`
}

// userJSON shadows model.User's Methods (the shallower field wins in
// encoding/json), so every other user field decodes as model.User says.
type userJSON struct {
	model.User
	Methods []json.RawMessage `json:"methods"`
}

// DecodeDirectory reads a directory snapshot. Users whose methods fail to
// decode make the whole snapshot invalid: an assessment over a partial user
// would be wrong, not merely incomplete.
func DecodeDirectory(r io.Reader) (*model.Directory, error) {
	dec := json.NewDecoder(r)
	var raw directoryJSON
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode directory: %w: %v", model.ErrInvalidInput, err)
	}
	d := model.Directory{Tenant: raw.Tenant, Users: make([]model.User, len(raw.Users))}
	for i, u := range raw.Users {
		d.Users[i] = u.User
		if u.Methods == nil {
			continue
		}
		d.Users[i].Methods = make([]model.Method, len(u.Methods))
		for j, m := range u.Methods {
			dm, err := DecodeMethod(m)
			if err != nil {
				return nil, fmt.Errorf("decode directory: %w: %v", model.ErrInvalidInput, err)
			}
			d.Users[i].Methods[j] = dm
		}
	}
	if err := d.Validate(); err != nil {
		return nil, model.PrefixErrors("decode directory", err)
	}
	return &d, nil
}

// LoadDirectory reads a directory snapshot from a file.
func LoadDirectory(path string) (*model.Directory, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", path, err)
	}
	defer f.Close()
	d, err := DecodeDirectory(f)
	if err != nil {
		return nil, model.PrefixErrors(path, err)
	}
	return d, nil
}
