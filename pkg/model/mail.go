package model

// Mail is an email message credres sends (a nudge): to whom, and its
// subject and bodies. A sender that carries one body uses HTML when set,
// Text otherwise.
type Mail struct {
	To      []string
	Subject string
	Text    string
	HTML    string
}
