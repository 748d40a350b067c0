package secrets

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

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
