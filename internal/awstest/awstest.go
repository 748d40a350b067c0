// Package awstest gives tests real AWS SDK clients wired to the local AWS-compatible servers that
// scripts/testservers.sh starts (DynamoDB Local, fauxqs for SQS) and the path of Amazon's Lambda
// runtime interface emulator.
//
// `make test` installs and starts the servers and exports their endpoints in the CREDRES_TEST_*
// variables below. A plain `go test` without them skips the tests that need a server, so a quick
// run of the pure packages stays quick; with CI set, a missing variable fails the test instead,
// so CI can never pass by skipping.
package awstest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Names of the environment variables written by `scripts/testservers.sh start`.
const (
	EnvDynamoDBEndpoint = "CREDRES_TEST_DYNAMODB_ENDPOINT"
	EnvSQSEndpoint      = "CREDRES_TEST_SQS_ENDPOINT"
	EnvRIE              = "CREDRES_TEST_RIE"
)

// Region is the region every client made here uses. The local servers accept any region; a fixed
// one keeps ARNs such as fauxqs's queue ARNs predictable.
const Region = "us-east-1"

// The local servers check neither signatures nor keys, but the SDK must sign something, and
// DynamoDB Local rejects access keys that are not purely alphanumeric.
var dummyCredentials = credentials.NewStaticCredentialsProvider("credrestest", "credrestest", "")

// DynamoDB returns a DynamoDB client for the local server named by CREDRES_TEST_DYNAMODB_ENDPOINT.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	endpoint := lookup(t, EnvDynamoDBEndpoint)
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		Credentials:  dummyCredentials,
		BaseEndpoint: aws.String(endpoint),
	})
}

// SQS returns an SQS client for the local server named by CREDRES_TEST_SQS_ENDPOINT.
func SQS(t testing.TB) *sqs.Client {
	t.Helper()
	endpoint := lookup(t, EnvSQSEndpoint)
	return sqs.New(sqs.Options{
		Region:       Region,
		Credentials:  dummyCredentials,
		BaseEndpoint: aws.String(endpoint),
	})
}

// RIE returns the path of the aws-lambda-rie binary named by CREDRES_TEST_RIE.
func RIE(t testing.TB) string {
	t.Helper()
	return lookup(t, EnvRIE)
}

// lookup returns the variable's value, or ends the test: skipped on a developer's machine,
// failed under CI.
func lookup(t testing.TB, name string) string {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not set, and CI must not skip this test: run the tests through `make test`, which starts the local servers", name)
	}
	t.Skipf("%s is not set: run `make test` to start the local servers and run this test", name)
	return ""
}

// unsafeNameChars matches what DynamoDB table names and SQS queue names both reject.
var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// UniqueName returns a name derived from the test's name with a random suffix, valid both as a
// DynamoDB table name and as an SQS queue name. It is at most 60 characters long, leaving room
// for a suffix such as ".fifo" or "-dlq" within SQS's 80.
func UniqueName(t testing.TB) string {
	t.Helper()
	base := unsafeNameChars.ReplaceAllString(t.Name(), "-")
	if len(base) > 51 {
		base = base[len(base)-51:] // the end of a subtest's name is the part that differs
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("awstest: random name suffix: %v", err)
	}
	return base + "-" + hex.EncodeToString(b[:])
}
