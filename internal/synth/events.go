package synth

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/credres/credres/pkg/model"
)

// AuditStream describes a stream of Entra audit events over a tenant's
// users, as the diagnostic setting delivers them to Event Hubs.
type AuditStream struct {
	// Events is how many audit records to write.
	Events int
	// PerBody is how many records one Event Hubs message body carries
	// (Entra batches them); 100 when zero.
	PerBody int
	// Users limits the events to the first this many users of the tenant
	// (a storm over part of it); all users when zero.
	Users int
	// Seed selects the stream; the same seed gives the same events.
	Seed int64
	// Start is the first event's time; events follow a second apart.
	// AsOf when zero.
	Start time.Time
}

// The mix of a stream, per mille: registrations and deletions of security
// info as users make them in My Sign-Ins, administrators issuing
// Temporary Access Passes, users reviewing their methods unchanged (which
// credres skips), and the directory's everyday traffic that shares the hub
// (also skipped).
var auditMix = [...]struct {
	w                     int
	activity, description string
}{
	{300, "User registered security info", "User registered Authenticator App with Notification and Code"},
	{150, "User registered security info", "User registered Fido2 Authentication Method"},
	{120, "User registered security info", "User registered Mobile Phone SMS"},
	{80, "User deleted security info", "User deleted Authenticator App with Notification and Code"},
	{50, "User deleted security info", "User deleted Mobile Phone SMS"},
	{70, "User changed default security info", "User changed default security info"},
	{30, "Admin registered security info", "Admin registered temporary access pass method for user"},
	{100, "User reviewed security info", "User reviewed security info"},
	{100, "Add member to group", ""},
}

// AuditBodies returns the Event Hubs message bodies ({"records":[…]}) of
// the stream over d's users: each record names one user as its target,
// users drawn at random (so a user appears several times in a long
// stream), in the shape of the sample events in events/audit.
func AuditBodies(d *model.Directory, s AuditStream) ([][]byte, error) {
	users := d.Users
	if s.Users > 0 && s.Users < len(users) {
		users = users[:s.Users]
	}
	if len(users) == 0 && s.Events > 0 {
		return nil, fmt.Errorf("synth: audit stream over a tenant without users")
	}
	per := s.PerBody
	if per <= 0 {
		per = 100
	}
	at := s.Start
	if at.IsZero() {
		at = AsOf
	}
	rng := rand.New(rand.NewPCG(uint64(s.Seed), 0x61756469746c6f67))
	var bodies [][]byte
	var batch []auditRecord
	for i := range s.Events {
		u := &users[rng.IntN(len(users))]
		batch = append(batch, newAuditRecord(d.Tenant.ID, u, pickActivity(rng), at, rng, i))
		at = at.Add(time.Second)
		if len(batch) == per || i == s.Events-1 {
			body, err := json.Marshal(struct {
				Records []auditRecord `json:"records"`
			}{batch})
			if err != nil {
				return nil, fmt.Errorf("synth: audit body: %w", err)
			}
			bodies = append(bodies, body)
			batch = batch[:0]
		}
	}
	return bodies, nil
}

func pickActivity(rng *rand.Rand) int {
	n := rng.IntN(1000)
	for i, m := range auditMix {
		if n < m.w {
			return i
		}
		n -= m.w
	}
	return 0
}

// The Azure Monitor audit-log schema, the fields credres reads and their
// usual companions.
type (
	auditRecord struct {
		Time              string          `json:"time"`
		ResourceID        string          `json:"resourceId"`
		OperationName     string          `json:"operationName"`
		OperationVersion  string          `json:"operationVersion"`
		Category          string          `json:"category"`
		TenantID          string          `json:"tenantId"`
		ResultSignature   string          `json:"resultSignature"`
		ResultDescription string          `json:"resultDescription"`
		CorrelationID     string          `json:"correlationId"`
		Identity          string          `json:"identity"`
		Level             int             `json:"Level"`
		Properties        auditProperties `json:"properties"`
	}
	auditProperties struct {
		ID                  string           `json:"id"`
		Category            string           `json:"category"`
		CorrelationID       string           `json:"correlationId"`
		Result              string           `json:"result"`
		ResultReason        string           `json:"resultReason"`
		ActivityDisplayName string           `json:"activityDisplayName"`
		ActivityDateTime    string           `json:"activityDateTime"`
		LoggedByService     string           `json:"loggedByService"`
		OperationType       string           `json:"operationType"`
		InitiatedBy         auditInitiator   `json:"initiatedBy"`
		TargetResources     []auditTarget    `json:"targetResources"`
		AdditionalDetails   []map[string]any `json:"additionalDetails"`
	}
	auditInitiator struct {
		App  *struct{}  `json:"app"`
		User auditActor `json:"user"`
	}
	auditActor struct {
		ID                string `json:"id"`
		UserPrincipalName string `json:"userPrincipalName"`
	}
	auditTarget struct {
		ID                 string `json:"id"`
		Type               string `json:"type"`
		UserPrincipalName  string `json:"userPrincipalName"`
		ModifiedProperties []any  `json:"modifiedProperties"`
	}
)

// helpdeskAdmin initiates the administrators' activities.
var helpdeskAdmin = auditActor{ID: "5c2e9f4a-8d1b-4c7e-b0a3-6f9d2e1c7b80", UserPrincipalName: "it.admin@" + Domain}

func newAuditRecord(tenant string, u *model.User, activity int, at time.Time, rng *rand.Rand, n int) auditRecord {
	mix := auditMix[activity]
	ts := at.UTC().Format("2006-01-02T15:04:05.0000000Z")
	corr := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))
	service, category, initiator := "Authentication Methods", "UserManagement", auditActor{ID: u.ID, UserPrincipalName: u.UserPrincipalName}
	if mix.activity == "Add member to group" {
		service, category = "Core Directory", "GroupManagement"
	}
	if mix.activity == "Admin registered security info" {
		initiator = helpdeskAdmin
	}
	return auditRecord{
		Time:              ts,
		ResourceID:        "/tenants/" + tenant + "/providers/Microsoft.aadiam",
		OperationName:     mix.activity,
		OperationVersion:  "1.0",
		Category:          "AuditLogs",
		TenantID:          tenant,
		ResultSignature:   "None",
		ResultDescription: mix.description,
		CorrelationID:     corr,
		Identity:          u.DisplayName,
		Level:             4,
		Properties: auditProperties{
			ID:                  fmt.Sprintf("%s_%s_SYN_%08d", service, corr, n),
			Category:            category,
			CorrelationID:       corr,
			Result:              "success",
			ResultReason:        mix.description,
			ActivityDisplayName: mix.activity,
			ActivityDateTime:    ts,
			LoggedByService:     service,
			OperationType:       "ServiceApi",
			InitiatedBy:         auditInitiator{User: initiator},
			TargetResources:     []auditTarget{{ID: u.ID, Type: "User", UserPrincipalName: u.UserPrincipalName, ModifiedProperties: []any{}}},
			AdditionalDetails:   []map[string]any{},
		},
	}
}
