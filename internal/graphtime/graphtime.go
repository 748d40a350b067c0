// Package graphtime parses the timestamps Microsoft Graph and Entra audit
// records carry.
package graphtime

import "time"

// Parse accepts the timestamp spellings Graph uses: RFC 3339 with or
// without fractional seconds, with "Z" or an offset.
func Parse(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	// Some records omit the zone; Graph times are UTC.
	return time.Parse("2006-01-02T15:04:05.9999999", s)
}
