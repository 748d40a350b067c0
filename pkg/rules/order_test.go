package rules

import (
	"testing"

	"github.com/credres/credres/pkg/model"
)

// Recommendations are ordered by fewer dependencies, as the guidance says:
// every passwordless or hardware method comes before another telephony
// method, whatever the effort (an office phone never outranks a FIDO2 key).
func TestTelephonyIsRecommendedLast(t *testing.T) {
	t.Parallel()
	telephony := map[model.MethodKind]bool{model.KindMobilePhone: true, model.KindOfficePhone: true, model.KindAlternateMobilePhone: true}
	for name, order := range map[string][len(candidates)]candidate{"without-authenticator": byCostFirst, "with-authenticator": byCostSecond} {
		seen := false
		for _, c := range order {
			if telephony[c.kind] {
				seen = true
			} else if seen {
				t.Errorf("%s: %s is tried after a telephony method", name, c.kind)
			}
		}
	}
	if rank(candidate{kind: model.KindOfficePhone, cost: 2}) <= rank(candidate{kind: model.KindFIDO2, cost: 3}) {
		t.Error("an office phone ranks before a FIDO2 key")
	}
}
