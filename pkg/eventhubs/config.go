package eventhubs

import (
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/credres/credres/pkg/model"
)

// Defaults applied by LoadConfig and NewReceivers to zero fields.
const (
	// DefaultEventHub is the hub Azure Monitor creates for the Entra
	// AuditLogs category of a diagnostic setting.
	DefaultEventHub = "insights-logs-auditlogs"
	// DefaultConsumerGroup is the group every hub has; a dedicated group
	// (docs/EVENTHUBS.md) keeps credres's position apart from other readers.
	DefaultConsumerGroup = "$Default"
	// DefaultMaxEvents is the most events one Next returns.
	DefaultMaxEvents = 100
	// DefaultReceiveWait is how long one Next waits for events; a wait that
	// brings none means the partition is drained for now.
	DefaultReceiveWait = 2 * time.Second
	// DefaultOpenWait is how long the first read of a partition in a run
	// waits when the partition has events after its checkpoint.
	DefaultOpenWait = 10 * time.Second
	// DefaultOwnershipExpiry is how long a claim on a partition holds. A run
	// reads a partition for at most half of it, so it covers budgets up to
	// two and a half minutes.
	DefaultOwnershipExpiry = 5 * time.Minute
	// DefaultCommitReserve is the time before the budget's end in which no
	// receive starts, kept for enqueueing and checkpointing the last batch.
	DefaultCommitReserve = 5 * time.Second
)

// StartAt says where a partition without a checkpoint is first read.
type StartAt string

const (
	// StartEarliest reads the events the hub still retains (the backlog of
	// up to the hub's retention period) on the first run: changes made
	// before credres was deployed are assessed too. The default.
	StartEarliest StartAt = "earliest"
	// StartLatest skips what the partition held when credres first saw it:
	// the first run stores the partition's last position as its checkpoint
	// and later runs resume there, so nothing after it is skipped.
	StartLatest StartAt = "latest"
)

// Config says which hub to read, how to authenticate and how to pace the
// drain.
//
// Credentials are chosen in this order: ConnectionString; the secret named
// by ConnectionSecretARN, fetched through Secrets; Credential; and finally
// azidentity's DefaultAzureCredential (in Lambda: workload identity
// federation through AZURE_CLIENT_ID, AZURE_TENANT_ID and
// AZURE_FEDERATED_TOKEN_FILE).
type Config struct {
	// Namespace is the fully qualified namespace, e.g.
	// contoso-audit.servicebus.windows.net. It may be left empty with a
	// connection string, which names it.
	Namespace string
	// EventHub is the hub's name; DefaultEventHub when empty.
	EventHub string
	// ConsumerGroup is the consumer group read; DefaultConsumerGroup when
	// empty.
	ConsumerGroup string

	// ConnectionString is a connection string of a shared access policy
	// with the Listen right.
	ConnectionString string
	// ConnectionSecretARN names a secret, fetched through Secrets, that holds
	// such a connection string.
	ConnectionSecretARN string
	Secrets             model.SecretSource
	// Credential is an Entra token credential; nil means
	// azidentity.NewDefaultAzureCredential.
	Credential azcore.TokenCredential

	// StartAt is where a partition without a checkpoint is first read;
	// StartEarliest when empty.
	StartAt StartAt
	// MaxEvents bounds the events of one Next; DefaultMaxEvents when zero.
	MaxEvents int
	// ReceiveWait bounds the wait of one Next; DefaultReceiveWait when zero.
	ReceiveWait time.Duration
	// OpenWait bounds instead the first Next of a partition that has events
	// after its checkpoint: that read also opens the partition's link (a
	// token exchange and an AMQP attach), and a wait too short for it would
	// end every run before the first event. DefaultOpenWait when zero.
	OpenWait time.Duration
	// OwnershipExpiry is how long a run's claim on a partition holds; a run
	// stops reading a partition when half of it has passed.
	// DefaultOwnershipExpiry when zero.
	OwnershipExpiry time.Duration
	// CommitReserve is the time before the context's deadline in which no
	// receive starts; DefaultCommitReserve when zero.
	CommitReserve time.Duration
}

// Validate fills defaults and checks what can be checked without the
// network or the secret; NewReceivers calls it.
func (c *Config) Validate() error {
	if c.EventHub == "" {
		c.EventHub = DefaultEventHub
	}
	if c.ConsumerGroup == "" {
		c.ConsumerGroup = DefaultConsumerGroup
	}
	switch c.StartAt {
	case "":
		c.StartAt = StartEarliest
	case StartEarliest, StartLatest:
	default:
		return fmt.Errorf("eventhubs: config: %w: start position %q is not earliest or latest", model.ErrInvalidInput, c.StartAt)
	}
	if c.MaxEvents == 0 {
		c.MaxEvents = DefaultMaxEvents
	}
	if c.ReceiveWait == 0 {
		c.ReceiveWait = DefaultReceiveWait
	}
	if c.OpenWait == 0 {
		c.OpenWait = DefaultOpenWait
	}
	if c.OwnershipExpiry == 0 {
		c.OwnershipExpiry = DefaultOwnershipExpiry
	}
	if c.CommitReserve == 0 {
		c.CommitReserve = DefaultCommitReserve
	}
	if c.MaxEvents < 0 || c.ReceiveWait < 0 || c.OpenWait < 0 || c.OwnershipExpiry < 0 || c.CommitReserve < 0 {
		return fmt.Errorf("eventhubs: config: %w: negative limit", model.ErrInvalidInput)
	}
	if max(c.ReceiveWait, c.OpenWait) >= c.OwnershipExpiry/2 {
		return fmt.Errorf("eventhubs: config: %w: receive and open waits (%s, %s) must be shorter than half the ownership expiry %s", model.ErrInvalidInput, c.ReceiveWait, c.OpenWait, c.OwnershipExpiry)
	}
	if c.Namespace != "" && !strings.Contains(c.Namespace, ".") {
		return fmt.Errorf("eventhubs: config: %w: namespace %q is not fully qualified (<namespace>.servicebus.windows.net)", model.ErrInvalidInput, c.Namespace)
	}
	if strings.Contains(c.Namespace, "/") {
		return fmt.Errorf("eventhubs: config: %w: namespace %q must be a host name, without scheme or path", model.ErrInvalidInput, c.Namespace)
	}
	if c.Namespace == "" && c.ConnectionString == "" && c.ConnectionSecretARN == "" {
		return fmt.Errorf("eventhubs: config: %w: a namespace is required without a connection string", model.ErrInvalidInput)
	}
	return nil
}
