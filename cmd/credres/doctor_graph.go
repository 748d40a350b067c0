package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/credres/credres/pkg/graph"
	"github.com/credres/credres/pkg/model"
	"github.com/credres/credres/pkg/secrets"
	"github.com/credres/credres/pkg/wiring"
)

// ---------------------------------------------------------------- Graph

// graphChecks is the one harmless read doctor makes for each permission
// of graphperm.Read (a test holds them to it): the read that needs it.
var graphChecks = map[string]string{
	"Policy.Read.All":                   "the Conditional Access policies",
	"User.Read.All":                     "one user's profile",
	"AuditLog.Read.All":                 "one user's row of the authentication methods registration report, by id",
	"UserAuthenticationMethod.Read.All": "one user's authentication methods",
	"RoleManagement.Read.Directory":     "the names of one user's directory roles and the roles they are eligible for",
	"Device.Read.All":                   "one user's registered devices with their properties",
}

const grantFix = "grant it and its admin consent: infra/grant-graph-permissions.sh --app-id $AZURE_CLIENT_ID (docs/DEPLOY.md, A3)"

// perUser are the permissions checked by reading one user, in the order
// they are checked.
var perUser = []string{"User.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All", "RoleManagement.Read.Directory", "Device.Read.All"}

func (d *doctor) graph() {
	ctx, cancel := d.ctx()
	defer cancel()
	g, ok := d.graphToken(ctx)
	if !ok {
		return
	}
	d.graphPolicies(ctx, g)
	userID, listFailed := d.graphUserToCheck(ctx, g)
	id := ""
	if userID != "" {
		id = d.graphUser(ctx, g, userID)
	}
	if id == "" {
		why := "no user to read: give --user"
		if userID != "" {
			why = "the user could not be read"
		}
		for _, p := range perUser {
			if (p == "User.Read.All" && userID != "") || (p == "AuditLog.Read.All" && listFailed) {
				continue // already reported
			}
			d.skip("graph "+p, "%s", why)
		}
	} else {
		d.graphRow(ctx, g, id)
		d.graphMethods(ctx, g, id)
		d.graphRoles(ctx, g, id)
		d.graphDevices(ctx, g, id)
	}
	d.graphGroups(ctx, g)
	d.mailSender(ctx, g)
}

// graphToken acquires a token for the app registration as the functions
// do; ok is false when Graph is not configured or the token fails.
func (d *doctor) graphToken(ctx context.Context) (graphReader, bool) {
	if d.getenv(wiring.EnvAzureClientID) == "" && d.getenv(wiring.EnvGraphToken) == "" {
		d.skip("graph token", "AZURE_CLIENT_ID is not set: Graph is not checked")
		return graphReader{}, false
	}
	var src model.SecretSource
	if d.getenv(wiring.EnvGraphSecretARN) != "" {
		cfg, err := d.awsConfig()
		if err != nil {
			d.fail("graph token", err, "configure AWS credentials and region (aws configure) to read CREDRES_GRAPH_SECRET_ARN")
			return graphReader{}, false
		}
		src = secrets.NewManager(secretsmanager.NewFromConfig(cfg))
	}
	client, err := wiring.NewGraph(ctx, d.getenv, src)
	if err != nil {
		d.fail("graph token", err, "set AZURE_TENANT_ID, AZURE_CLIENT_ID and CREDRES_GRAPH_SECRET_ARN (or AZURE_CLIENT_SECRET) as for the functions (docs/GRAPH.md)")
		return graphReader{}, false
	}
	token, err := client.Token(ctx)
	if err != nil {
		d.fail("graph token", err, "check the tenant id, the application id and the credential in the secret; a client secret may have expired (docs/DEPLOY.md, A4)")
		return graphReader{}, false
	}
	d.ok("graph token", "acquired for the app registration")
	base := strings.TrimSuffix(d.getenv(wiring.EnvGraphURL), "/")
	if base == "" {
		base = graph.DefaultBaseURL
	}
	return graphReader{base: base, token: token}, true
}

// graphPolicies reads the Conditional Access policies, the one policy read
// that no lower permission allows (docs/GRAPH.md).
func (d *doctor) graphPolicies(ctx context.Context, g graphReader) {
	var caPolicies struct {
		Value []json.RawMessage `json:"value"`
	}
	const p = "Policy.Read.All"
	if err := g.get(ctx, "/identity/conditionalAccess/policies", &caPolicies); err != nil {
		d.fail("graph "+p, err, grantFix)
	} else {
		d.ok("graph "+p, "read %s (%d)", graphChecks[p], len(caPolicies.Value))
	}
}

// graphUserToCheck returns the user to check the per-user reads with:
// --user, or the registration report's first row (whose list
// AuditLog.Read.All or UserAuthenticationMethod.Read.All allows); failed
// when that list was refused, which fails AuditLog.Read.All.
func (d *doctor) graphUserToCheck(ctx context.Context, g graphReader) (user string, failed bool) {
	if d.user != "" {
		return d.user, false
	}
	var report struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
	}
	if err := g.get(ctx, "/reports/authenticationMethods/userRegistrationDetails?$top=1&$select=id", &report); err != nil {
		d.fail("graph AuditLog.Read.All", err, grantFix)
		return "", true
	}
	if len(report.Value) == 0 {
		return "", false
	}
	return report.Value[0].ID, false
}

// graphUser reads the user's profile (User.Read.All) and returns their
// object id, "" when it failed.
func (d *doctor) graphUser(ctx context.Context, g graphReader, userID string) string {
	const p = "User.Read.All"
	var profile struct {
		ID string `json:"id"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(userID)+"?$select=id,userPrincipalName,authorizationInfo", &profile); err != nil {
		d.fail("graph "+p, err, grantFix)
		return ""
	}
	d.ok("graph "+p, "read %s", graphChecks[p])
	return profile.ID
}

// graphRow reads the user's registration row by id: the read only
// AuditLog.Read.All allows (the report's list also takes
// UserAuthenticationMethod.Read.All).
func (d *doctor) graphRow(ctx context.Context, g graphReader, id string) {
	const p = "AuditLog.Read.All"
	var row struct {
		ID string `json:"id"`
	}
	if err := g.get(ctx, "/reports/authenticationMethods/userRegistrationDetails/"+url.PathEscape(id), &row); err != nil {
		d.fail("graph "+p, err, grantFix)
	} else {
		d.ok("graph "+p, "read %s", graphChecks[p])
	}
}

// graphMethods reads the user's methods.
func (d *doctor) graphMethods(ctx context.Context, g graphReader, id string) {
	const p = "UserAuthenticationMethod.Read.All"
	var methods struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(id)+"/authentication/methods", &methods); err != nil {
		d.fail("graph "+p, err, grantFix)
	} else {
		d.ok("graph "+p, "read %s", graphChecks[p])
	}
}

// graphRoles checks that the user's directory roles come with their names
// and that their eligible roles can be read.
func (d *doctor) graphRoles(ctx context.Context, g graphReader, id string) {
	// Without RoleManagement.Read.Directory, Graph still lists a user's
	// directory roles, but without their names.
	const p = "RoleManagement.Read.Directory"
	var member struct {
		Value []struct {
			Type        string  `json:"@odata.type"`
			DisplayName *string `json:"displayName"`
		} `json:"value"`
	}
	var eligible struct {
		Value []json.RawMessage `json:"value"`
	}
	filter := url.QueryEscape("principalId eq '" + id + "'")
	if err := g.get(ctx, "/users/"+url.PathEscape(id)+"/transitiveMemberOf?$select=id,displayName", &member); err != nil {
		d.fail("graph "+p, err, grantFix)
		return
	}
	if err := g.get(ctx, "/roleManagement/directory/roleEligibilityScheduleInstances?$filter="+filter+"&$expand=roleDefinition", &eligible); err != nil {
		d.fail("graph "+p, err, grantFix)
		return
	}
	unnamed, roles := 0, 0
	for _, m := range member.Value {
		if m.Type == "#microsoft.graph.directoryRole" {
			roles++
			if m.DisplayName == nil || *m.DisplayName == "" {
				unnamed++
			}
		}
	}
	switch {
	case unnamed > 0:
		d.fail("graph "+p, fmt.Errorf("%d of the user's %d directory roles come from Graph without their names", unnamed, roles), grantFix)
	case roles == 0:
		d.ok("graph "+p, "read the user's memberships and eligible roles (the user holds no directory role, so the role names were not tested; --user an administrator tests them)")
	default:
		d.ok("graph "+p, "read %s", graphChecks[p])
	}
}

// graphDevices checks that the user's devices come with their properties.
// Devices only shape advice: without this read credres leaves them
// unknown.
func (d *doctor) graphDevices(ctx context.Context, g graphReader, id string) {
	const p = "Device.Read.All"
	var devices struct {
		Value []struct {
			Type            string  `json:"@odata.type"`
			DisplayName     *string `json:"displayName"`
			OperatingSystem *string `json:"operatingSystem"`
		} `json:"value"`
	}
	if err := g.get(ctx, "/users/"+url.PathEscape(id)+"/registeredDevices", &devices); err != nil {
		d.fail("graph "+p, err, "the device lists need User.Read.All and the devices Device.Read.All; "+grantFix)
		return
	}
	limited := 0
	for _, dv := range devices.Value {
		if dv.Type == "#microsoft.graph.device" && dv.DisplayName == nil && dv.OperatingSystem == nil {
			limited++
		}
	}
	switch {
	case limited > 0:
		d.fail("graph "+p, fmt.Errorf("%d of the user's %d devices come from Graph without their properties", limited, len(devices.Value)), grantFix)
	case len(devices.Value) == 0:
		d.ok("graph "+p, "read the user's devices (the user has none, so their properties were not tested; --user someone with a device tests them)")
	default:
		d.ok("graph "+p, "read %s", graphChecks[p])
	}
}

// mailSender checks the mailbox nudges are sent from, when one is set.
func (d *doctor) mailSender(ctx context.Context, g graphReader) {
	sender := d.getenv(wiring.EnvMailSender)
	if sender == "" {
		d.skip("mail sender", "CREDRES_MAIL_SENDER is not set: nudges go to the outbox queue")
		return
	}
	var mailbox struct {
		ID   string  `json:"id"`
		Mail *string `json:"mail"`
	}
	switch err := g.get(ctx, "/users/"+url.PathEscape(sender)+"?$select=id,mail", &mailbox); {
	case err != nil:
		d.fail("mail sender", err, "CREDRES_MAIL_SENDER (MailSender) must name an existing user with a mailbox")
	case mailbox.Mail == nil || *mailbox.Mail == "":
		d.fail("mail sender", fmt.Errorf("%s has no mail address", sender), "give MailSender a user with an Exchange Online mailbox")
	default:
		// Sending would send mail; Mail.Send for this mailbox is checked
		// by Exchange when the first nudge goes out.
		d.ok("mail sender", "the mailbox exists (Mail.Send itself is not tested: that would send mail)")
	}
}

// graphReader makes plain GET requests to Graph with a bearer token.
type graphReader struct {
	base, token string
}

func (g graphReader) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var ge struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &ge)
		msg := ge.Error.Code
		if ge.Error.Message != "" {
			msg += ": " + ge.Error.Message
		}
		return &graphStatusError{status: resp.StatusCode,
			msg: fmt.Sprintf("GET %s: %s %s", strings.SplitN(path, "?", 2)[0], resp.Status, msg)}
	}
	return json.Unmarshal(body, into)
}

// graphStatusError is Graph's answer other than 200 OK.
type graphStatusError struct {
	status int
	msg    string
}

func (e *graphStatusError) Error() string { return e.msg }
