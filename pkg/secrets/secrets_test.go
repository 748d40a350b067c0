package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/credres/credres/internal/clocktest"
	"github.com/credres/credres/pkg/model"
)

type fakeAPI struct {
	values map[string]string
	calls  int
}

func (f *fakeAPI) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	v, ok := f.values[*in.SecretId]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: in.SecretId}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: &v}, nil
}

func TestManagerCachesAndClassifies(t *testing.T) {
	f := &fakeAPI{values: map[string]string{"arn:graph": "s3cr3t"}}
	m := newManager(f)
	for range 3 {
		v, err := m.Secret(context.Background(), "arn:graph")
		if err != nil || v != "s3cr3t" {
			t.Fatalf("%q %v", v, err)
		}
	}
	if f.calls != 1 {
		t.Errorf("calls = %d, want 1 (cached)", f.calls)
	}
	_, err := m.Secret(context.Background(), "arn:missing")
	if !errors.Is(err, model.ErrNotFound) || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("missing secret: %v", err)
	}
}

func TestEnv(t *testing.T) {
	e := Env(func(k string) string { return map[string]string{"X": "v"}[k] })
	if v, err := e.Secret(context.Background(), "X"); v != "v" || err != nil {
		t.Errorf("%q %v", v, err)
	}
	if _, err := e.Secret(context.Background(), "Y"); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("%v", err)
	}
}

// A rotated helpdesk secret is picked up by a warm function once the cached
// value has expired, with no cold start.
func TestManagerCacheExpires(t *testing.T) {
	f := &fakeAPI{values: map[string]string{"arn:servicenow": "old"}}
	clock := clocktest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	m := newManager(f)
	m.clock = clock
	read := func() string {
		t.Helper()
		v, err := m.Secret(context.Background(), "arn:servicenow")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := read(); v != "old" {
		t.Fatalf("first read %q", v)
	}
	f.values["arn:servicenow"] = "rotated"
	clock.Advance(DefaultTTL - time.Second)
	if v := read(); v != "old" || f.calls != 1 {
		t.Errorf("within the TTL: %q after %d calls, want the cached value after 1", v, f.calls)
	}
	clock.Advance(time.Second)
	if v := read(); v != "rotated" || f.calls != 2 {
		t.Errorf("after the TTL: %q after %d calls, want the rotated value after 2", v, f.calls)
	}
	if v := read(); v != "rotated" || f.calls != 2 {
		t.Errorf("the fresh value is cached again: %q after %d calls", v, f.calls)
	}
}
