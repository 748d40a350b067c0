package graphjson

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/credres/credres/pkg/model"
)

// Stream takes a snapshot's users as StreamDirectory reads them, so that a
// reader that judges users one by one (assess, whatif) never holds the
// directory: only a batch of users at a time.
type Stream struct {
	// Head is called once, before Users: the directory's Tenant is read
	// whole and checked, its Users are nil. The other properties the
	// snapshot gives after its users (exportedAt) are set on the same
	// directory as they are read: all are set when StreamDirectory
	// returns.
	Head func(d *model.Directory) error
	// Users is called with the users, in the snapshot's order, a batch at
	// a time; the batch is the callee's (it is not reused).
	Users func(users []model.User) error
	// Batch is the most users in one call of Users; 0 means
	// DefaultStreamBatch.
	Batch int
}

// DefaultStreamBatch is the users of one call of Stream.Users by default:
// enough to spread their evaluation over every core.
const DefaultStreamBatch = 4096

// streamState is a stream under way.
type streamState struct {
	Stream
	batch int
	// started says the tenant was read and checked; headed that Head was
	// called: batches go out as they fill. After an invalid tenant the
	// users are read on (to name those that are invalid too) and dropped.
	started, headed bool
	// cbErr is the error Head or Users returned; tenantErr the tenant's
	// check's.
	cbErr, tenantErr error
}

// errStop stops the reader after a callback failed.
var errStop = errors.New("stream stopped")

// StreamDirectory reads a directory snapshot as DecodeDirectoryWith does,
// in one pass, and hands its users to s.Users in batches as they are read
// instead of returning them: the reader holds one batch and a small window
// of the input, whatever the tenant's size.
//
// Users are judged against their tenant, so none is handed on before the
// tenant is read: in a snapshot whose "tenant" comes after its "users"
// (credres export and internal/synth write it first), the users are held until
// it comes, as DecodeDirectoryWith holds them.
//
// invalid is as DecodeDirectoryWith's partial error: it names each user
// left out (the others were handed on) and wraps model.ErrInvalidInput. err
// says the snapshot could not be read on (it wraps model.ErrInvalidInput:
// invalid JSON, an invalid tenant, larger than MaxBytes) or is the error
// Head or Users returned, as it is; the batches handed on before it stay
// handed on. The last batch is handed on only once the whole snapshot is
// known to be well-formed.
func StreamDirectory(r io.Reader, o DirectoryOptions, s Stream) (invalid, err error) {
	dd := newDirectoryDecoder(r, o)
	dd.stream = &streamState{Stream: s, batch: s.Batch}
	if dd.stream.batch <= 0 {
		dd.stream.batch = DefaultStreamBatch
	}
	_, err = dd.document()
	if err == nil {
		err = dd.l.end()
	}
	if err == nil && !dd.stream.started {
		err = dd.startStream() // a snapshot without a tenant
	}
	if err == nil {
		err = dd.flush(true)
	}
	switch st := dd.stream; {
	case st.cbErr != nil:
		return nil, st.cbErr
	case st.tenantErr != nil && err == nil:
		return nil, model.PrefixErrors("decode directory", errors.Join(append([]error{st.tenantErr}, dd.invalid...)...))
	case err != nil:
		return nil, fmt.Errorf("decode directory: %w: %v", model.ErrInvalidInput, err)
	}
	return model.PrefixErrors("decode directory", errors.Join(dd.invalid...)), nil
}

// StreamFile reads the snapshot in a file with StreamDirectory; the
// snapshot's errors name the file.
func StreamFile(path string, o DirectoryOptions, s Stream) (invalid, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load directory %s: %w", path, err)
	}
	defer f.Close()
	var cbErr error
	head, users := s.Head, s.Users
	s.Head = func(d *model.Directory) error {
		cbErr = head(d)
		return cbErr
	}
	s.Users = func(us []model.User) error {
		cbErr = users(us)
		return cbErr
	}
	invalid, err = StreamDirectory(f, o, s)
	if err != nil && err != cbErr {
		err = model.PrefixErrors(path, err)
	}
	return model.PrefixErrors(path, invalid), err
}

// startStream checks the tenant, hands the directory to Head and then the
// users held until the tenant came.
func (dd *directoryDecoder) startStream() error {
	st := dd.stream
	st.started = true
	t := model.Directory{Tenant: dd.dir.Tenant}
	if err := t.Validate(); err != nil {
		st.tenantErr = err
		dd.dir.Users = nil
		return nil
	}
	dd.dir.Tenant = t.Tenant
	st.headed = true
	held := dd.dir.Users
	dd.dir.Users = nil
	if err := st.Head(dd.dir); err != nil {
		st.cbErr = err
		return errStop
	}
	dd.dir.Users = held
	return dd.flush(false)
}

// flush hands the users read so far to Users, in batches, once the stream
// has started: with all, every user; else only whole batches, the rest
// held for more users or the snapshot's end.
func (dd *directoryDecoder) flush(all bool) error {
	st := dd.stream
	us := dd.dir.Users
	if st.tenantErr != nil {
		dd.dir.Users = nil
		return nil
	}
	if !st.headed {
		return nil
	}
	for len(us) >= st.batch || (all && len(us) > 0) {
		n := min(len(us), st.batch)
		if err := st.Users(us[:n:n]); err != nil {
			st.cbErr = err
			return errStop
		}
		us = us[n:]
	}
	if len(us) == 0 {
		us = nil
	}
	dd.dir.Users = us
	return nil
}
