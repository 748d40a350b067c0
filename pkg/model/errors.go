package model

import "errors"

// Sentinel error kinds. Adapters wrap their failures so that callers can
// classify them with errors.Is without knowing which system failed.
var (
	// ErrInvalidInput marks input that can never succeed: retrying is pointless.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNotFound marks a missing user, item or resource.
	ErrNotFound = errors.New("not found")
	// ErrThrottled marks a request refused for rate reasons: retry later.
	ErrThrottled = errors.New("throttled")
	// ErrConflict marks a lost optimistic-concurrency race or a stale write.
	ErrConflict = errors.New("conflict")
)
