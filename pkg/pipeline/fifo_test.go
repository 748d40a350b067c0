package pipeline

import (
	"slices"
	"testing"
)

func TestHoldBack(t *testing.T) {
	t.Parallel()
	batch := []Message{
		{ID: "a1", GroupID: "a"}, {ID: "b1", GroupID: "b"}, {ID: "a2", GroupID: "a"},
		{ID: "n1"}, {ID: "b2", GroupID: "b"}, {ID: "a3", GroupID: "a"}, {ID: "n2"},
	}
	tests := []struct {
		name   string
		failed []string
		want   []string
	}{
		{"nothing-failed-nothing-held", nil, nil},
		{"later-messages-of-the-group-are-held", []string{"a1"}, []string{"a1", "a2", "a3"}},
		{"earlier-messages-stay-delivered", []string{"a2"}, []string{"a2", "a3"}},
		{"other-groups-go-on", []string{"b1"}, []string{"b1", "b2"}},
		{"no-group-holds-nothing", []string{"n1"}, []string{"n1"}},
		{"a-held-message-is-reported-once", []string{"a1", "a3"}, []string{"a1", "a3", "a2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var fs []Failure
			for _, id := range tc.failed {
				fs = append(fs, Failure{MessageID: id, Reason: "x"})
			}
			var got []string
			for _, f := range HoldBack(batch, fs) {
				got = append(got, f.MessageID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("HoldBack = %v, want %v", got, tc.want)
			}
		})
	}
}
