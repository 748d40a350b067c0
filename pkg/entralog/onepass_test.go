package entralog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/credres/credres/internal/synth"
)

// onePassCases are inputs on the edges of what the one-pass reader takes:
// each must read exactly as encoding/json reads it, whether the reader
// takes it or hands it over.
var onePassCases = []string{
	// Keys spelled in other cases, with delimiters, escaped, outside ASCII.
	`{"RECORDS":[{"Properties":{"ActivityDisplayName":"User registered security info","ID":"a","activityDateTime":"2025-01-02T03:04:05Z","TargetResources":[{"Type":"user","ID":"u"}]}}]}`,
	`{"re_cords":[{"activityDisplayName":"x"}],"value":[{"activityDisplayName":"Update user"}]}`,
	`{"records":[{"properties":{"activity_DisplayName":"User registered security info","id":"a"}}]}`,
	`{"records":[{"properties":{"\u0069d":"a","activityDisplayName":"User registered security info","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u"}]}}]}`,
	`{"records":[{"properties":{"ſtatus":1,"activityDisplayName":"User registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u"}]}}]}`,
	"{\"records\":[{\"\u212aey\":1,\"key\":2,\"activityDisplayName\":\"x\"}]}",
	`{"records":[{"activityDisplayName":"x","Activitydisplayname":"y"}]}`,
	`{"records":[{"properties":{"targetResources":[{"id":"a","ID":"b"}]}}]}`,
	`{"Records":[],"records":[]}`,
	`{"records":null,"value":[{"activityDisplayName":"Add member to group"}]}`,
	`{"records":"x"}`, `{"value":7}`, `{"records":{}}`, `[]`, `[1,"x",null,true,{}]`, `42`, `"x"`, `null`,
	// properties and its fields of every JSON type.
	`{"records":[{"category":"Audit","properties":"x"},{"properties":[1]},{"properties":null,"activityDisplayName":"Add member to group"},{"properties":7}]}`,
	`{"records":[{"category":"Audit","properties":{"activityDisplayName":"x"}},{"properties":{"targetResourceType":"User"}},{"properties":{},"operationName":"User deleted security info"}]}`,
	`{"records":[{"properties":{"activityDisplayName":["x"],"id":{"a":1},"activityDateTime":12,"result":[1],"resultReason":true}}]}`,
	// Targets and initiators of unusual shapes.
	`{"records":[{"properties":{"activityDisplayName":"Admin registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[1,{"type":"User","id":"u"}]}}]}`,
	`{"records":[{"properties":{"activityDisplayName":"Admin registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[null,{"type":"User","id":"u"}]}}]}`,
	`{"records":[{"properties":{"activityDisplayName":"Admin registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":{"type":"User"}}}]}`,
	`{"records":[{"properties":{"activityDisplayName":"User registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","userPrincipalName":7}],` +
		`"initiatedBy":{"user":"u","app":{"appId":"x","displayName":"X"}}}}]}`,
	`{"records":[{"properties":{"activityDisplayName":"User registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u"}],` +
		`"initiatedBy":{"user":{"id":" u ","userPrincipalName":null},"app":null,"other":[{"id":1}]}}}]}`,
	`{"records":[{"properties":{"activityDisplayName":"User registered security info","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u"}],"initiatedBy":[1]}}]}`,
	// "Update user" records whose modified properties have unusual shapes.
	`{"records":[{"properties":{"activityDisplayName":"Update user","id":"a","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","modifiedProperties":[` +
		`{"DisplayName":"StrongAuthenticationMethod","OldValue":"[{\"MethodType\":6,\"Default\":true}]","NewValue":"[]"},{"displayName":"Included Updated Properties","newValue":"\"StrongAuthenticationMethod\""}]}]}},` +
		`{"properties":{"activityDisplayName":"Update user","id":"b","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","modifiedProperties":"x"}]}},` +
		`{"properties":{"activityDisplayName":"Update user","id":"c","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","modifiedProperties":[1,{"displayName":"StrongAuthenticationMethod"}]}]}},` +
		`{"properties":{"activityDisplayName":"Update user","id":"d","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","modifiedProperties":[null,{"displayName":"SearchableDeviceKey","oldValue":null,"newValue":[{"a":1}]}]}]}},` +
		`{"properties":{"activityDisplayName":"Update user","id":"e","activityDateTime":"2025-01-02T03:04:05Z","targetResources":[{"type":"User","id":"u","modifiedProperties":[{"displayName":["StrongAuthenticationMethod"],"newValue":7}]},{"type":"User","modifiedProperties":{}}]}}]}`,
	// Strings with escapes, quotes and bytes that are not UTF-8; numbers.
	`{"records":[{"properties":{"activityDisplayName":"User registered security info","id":"a\"b\\","activityDateTime":"2025-01-02T03:04:05Z","resultReason":"User registered \u00e9 \\\"x\\\"","targetResources":[{"type":"User","id":"u\\"}]}}]}`,
	"{\"records\":[{\"properties\":{\"activityDisplayName\":\"User registered security info\",\"id\":\"a\xff\",\"activityDateTime\":\"2025-01-02T03:04:05Z\",\"targetResources\":[{\"type\":\"User\",\"id\":\"u\"}],\"result\":-0.0e+1}}]}",
	" \n\t{ \"records\" : [ { \"properties\" : { \"activityDisplayName\" : \"User registered security info\" , \"id\" : \"a\" , \"activityDateTime\" : \"2025-01-02T03:04:05Z\" , \"targetResources\" : [ { \"type\" : \"User\" , \"id\" : \"u\" } ] } } ] } \r\n",
	// Several documents, and invalid JSON after a good one.
	`{"records":[{"activityDisplayName":"Add member to group"}]}` + "\n" + `[{"activityDisplayName":"Add member to group"}]`,
	`{"records":[{"activityDisplayName":"Add member to group"}]} {"records":[{`,
	`{"records":[{"activityDisplayName":"Add member to group"}]}]`,
	// Sign-ins beside audit records.
	`{"records":[{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":[{"authenticationMethod":"Password","succeeded":true}]}},{"category":"ManagedIdentitySignInLogs"}]}`,
	`[{"createdDateTime":"2025-01-02T03:04:05Z","appId":"x","userId":"u","authenticationDetails":[{"authenticationMethod":"FIDO2 security key","succeeded":true}]},{"createdDateTime":null,"appId":"x"},{"createdDateTime":"x","appId":"x","activityDisplayName":"y"}]`,
	// Sign-in fields of unusual types and shapes.
	`{"records":[{"category":"SignInLogs","properties":"x"},{"category":"SignInLogs","properties":null,"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":[{"authenticationMethod":"Password","succeeded":"True"}]}]}`,
	`{"records":[{"category":"SignInLogs","time":"2025-01-02T03:04:05Z","properties":{"userId":"u","isInteractive":"true","signInEventTypes":["servicePrincipal"]}},` +
		`{"category":"NonInteractiveUserSignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05","signInEventTypes":null,"mfaDetail":{"authMethod":"Mobile app notification","authDetail":null}}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","signInEventTypes":"interactiveUser"}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","mfaDetail":[1]}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","signInEventTypes":[1,null,{"a":1},"interactiveUser"],"authenticationDetails":"[{\"authenticationMethod\":\"SMS\",\"succeeded\":true}]"}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":[{"authenticationMethod":"SMS"},7]}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":[null,{"authenticationMethod":"SMS"}]}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":{"authenticationMethod":"SMS"}}},` +
		`{"category":"SignInLogs","properties":{"UserID":"u","CreatedDateTime":"2025-01-02T03:04:05Z","AuthenticationDetails":[{"AuthenticationMethod":"SMS","Succeeded":true,"authenticationStepDateTime":"x"}]}},` +
		`{"category":"SignInLogs","properties":{"userId":"u","createdDateTime":"2025-01-02T03:04:05Z","authenticationDetails":[{"authenticationMethod":"SMS","authenticationMethod":"x"}]}}]}`,
}

// manyKeys is an object with more keys than the reader compares pairwise.
func manyKeys(repeat bool) string {
	var b strings.Builder
	b.WriteString(`{"records":[{"activityDisplayName":"Add member to group"`)
	for i := range maxKeys + 10 {
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	if repeat {
		b.WriteString(`,"K3":1`)
	}
	b.WriteString(`}]}`)
	return b.String()
}

// deep nests arrays n levels down in a record.
func deep(n int) string {
	return `{"records":[{"activityDisplayName":"Add member to group","x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}]}`
}

func onePassInputs(t testing.TB) [][]byte {
	var inputs [][]byte
	for _, c := range onePassCases {
		inputs = append(inputs, []byte(c))
	}
	inputs = append(inputs, []byte(manyKeys(false)), []byte(manyKeys(true)), []byte(deep(100)), []byte(deep(10_001)))
	for _, pattern := range []string{"testdata/*/*.json", "../../events/*/*.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, data)
		}
	}
	tenant := synth.Tenant(50, 1)
	bodies, err := synth.AuditBodies(tenant, synth.AuditStream{Events: 200, PerBody: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	signIns, err := synth.NewSignIns(tenant, synth.SignInStream{Records: 200, PerBody: 50, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for {
		body, err := signIns.Body()
		if err != nil {
			t.Fatal(err)
		}
		if body == nil {
			return append(inputs, bodies...)
		}
		bodies = append(bodies, body)
	}
}

// The one-pass reader and encoding/json read every input alike: the same
// events, sign-ins, policy changes, skips, counts and error texts, from Parse
// and from ParseAudit.
func TestOnePassMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for i, in := range onePassInputs(t) {
		t.Run(fmt.Sprint(i), func(t *testing.T) { sameReadings(t, in) })
	}
}

func FuzzOnePass(f *testing.F) {
	for _, in := range onePassInputs(f) {
		f.Add(in)
	}
	f.Fuzz(sameReadings)
}

func sameReadings(t *testing.T, in []byte) {
	got, gotErr := parse(in, &reader{})
	want, wantErr := parse(in, &reader{general: true})
	if !reflect.DeepEqual(got, want) || errorText(gotErr) != errorText(wantErr) {
		t.Errorf("Parse(%q):\none pass  %+v\n%s\nencoding/json %+v\n%s", in, got, errorText(gotErr), want, errorText(wantErr))
	}
	gotAudit, gotErr := parseAudit(in, &reader{})
	wantAudit, wantErr := parseAudit(in, &reader{general: true})
	if !reflect.DeepEqual(gotAudit, wantAudit) || errorText(gotErr) != errorText(wantErr) {
		t.Errorf("ParseAudit(%q):\none pass  %+v\n%s\nencoding/json %+v\n%s", in, gotAudit, errorText(gotErr), wantAudit, errorText(wantErr))
	}
	var r reader
	var stream [2]string
	for i, s := range []*reader{&r, {general: true}} {
		var b strings.Builder
		err := parseReader(bytes.NewReader(in), 1<<16, s, func(batch Batch, err error) error {
			fmt.Fprintf(&b, "%+v %s\n", batch, errorText(err))
			return nil
		})
		stream[i] = b.String() + errorText(err)
	}
	if stream[0] != stream[1] {
		t.Errorf("ParseReader(%q):\none pass  %s\nencoding/json %s", in, stream[0], stream[1])
	}
}

func errorText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Activities are looked up lower-cased without a copy when they are ASCII;
// the answers are strings.ToLower's, Unicode folding included (the Kelvin
// sign lower-cases to "k").
func TestLowerCaseLookups(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"User Registered Security Info", "ASSIGN HARDWARE OATH TOKEN", "Assign hardware oath to\u212aen",
		"user canceled security info registration", "User Cancelled", "user canc", "İ", "",
		strings.Repeat("Update user ", 10), "Update user",
	} {
		if got, want := lookupLower(activities, s), activities[strings.ToLower(s)]; got != want {
			t.Errorf("lookupLower(%q) = %v, want %v", s, got, want)
		}
		for _, p := range []string{"user canceled", "user cancelled", "assign"} {
			if got, want := lowerHasPrefix(s, p), strings.HasPrefix(strings.ToLower(s), p); got != want {
				t.Errorf("lowerHasPrefix(%q, %q) = %v, want %v", s, p, got, want)
			}
		}
	}
}
