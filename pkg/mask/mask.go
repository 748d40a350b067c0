// Package mask hides personal data before it reaches a message, a ticket or
// a log line: mail and ticket systems are not places for phone numbers or
// full email addresses. Masking keeps just enough for a person to recognise
// their own number or address.
package mask

import (
	"strings"
	"unicode"
)

const dots = "•••"

// Phone keeps the country code and the last four digits of a number:
// "+1 2065550123" becomes "+1 ••• ••• 0123". A value with fewer than six
// digits is masked completely.
func Phone(number string) string {
	number = strings.TrimSpace(number)
	if number == "" {
		return ""
	}
	var digits []rune
	for _, r := range number {
		if unicode.IsDigit(r) {
			digits = append(digits, r)
		}
	}
	if len(digits) < 6 {
		return dots
	}
	country := ""
	if strings.HasPrefix(number, "+") {
		// Graph writes numbers as "+<country> <national>".
		if cc, _, ok := strings.Cut(strings.TrimPrefix(number, "+"), " "); ok && len(cc) <= 3 && isDigits(cc) {
			country = "+" + cc + " "
		}
	}
	return country + dots + " " + dots + " " + string(digits[len(digits)-4:])
}

// Email keeps the first character of the local part and the domain:
// "adele.vance@contoso.example" becomes "a•••@contoso.example".
func Email(address string) string {
	address = strings.TrimSpace(address)
	if address == "" {
		return ""
	}
	local, domain, ok := strings.Cut(address, "@")
	if !ok || local == "" {
		return dots
	}
	first := []rune(local)[0]
	return string(first) + dots + "@" + domain
}

func isDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return s != ""
}
