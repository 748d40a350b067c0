package graphtest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/credres/credres/internal/graphtest"
	"github.com/credres/credres/internal/synth"
	"github.com/credres/credres/pkg/model"
)

func getWith(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Each read needs a permission of Microsoft's table for it, from the
// token's roles; without one the answer is Graph's 403.
func TestServerEnforcesPermissionsFromTheToken(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(1, 1)
	srv := graphtest.NewServer(t, dir)
	id := dir.Users[0].ID
	row := srv.URL() + "/reports/authenticationMethods/userRegistrationDetails/" + id
	list := srv.URL() + "/reports/authenticationMethods/userRegistrationDetails"

	onlyMethods := graphtest.AppToken("UserAuthenticationMethod.Read.All")
	status, body := getWith(t, row, onlyMethods)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal(body, &e); status != 403 || e.Error.Code != "Authorization_RequestDenied" || e.Error.Message != "Insufficient privileges to complete the operation." {
		t.Errorf("one user's row without AuditLog.Read.All: %d %s", status, body)
	}
	if status, body := getWith(t, list, onlyMethods); status != 200 {
		t.Errorf("the list with UserAuthenticationMethod.Read.All: %d %s", status, body)
	}
	if status, _ := getWith(t, row, graphtest.AppToken("AuditLog.Read.All")); status != 200 {
		t.Errorf("one user's row with AuditLog.Read.All: %d", status)
	}
	// A delegated token (no roles claim) has no application permission.
	if status, _ := getWith(t, srv.URL()+"/users/"+id, graphtest.AppToken()); status != 403 {
		t.Errorf("profile without roles: %d", status)
	}
	// An opaque token stands for the deployment's permissions. (A user
	// whose devices are unknown is refused them: give the user none.)
	u := dir.Users[0]
	u.Devices = []model.Device{}
	srv.SetUser(u)
	for _, path := range []string{"/users/" + id, "/users/" + id + "/authentication/methods", "/users/" + id + "/transitiveMemberOf",
		"/users/" + id + "/registeredDevices", "/users/" + id + "/ownedDevices",
		"/roleManagement/directory/roleEligibilityScheduleInstances?$filter=principalId%20eq%20'" + id + "'&$expand=roleDefinition",
		"/reports/authenticationMethods/userRegistrationDetails/" + id, "/auditLogs/signIns"} {
		if status, body := getWith(t, srv.URL()+path, "test-token"); status != 200 {
			t.Errorf("%s with the deployment's permissions: %d %s", path, status, body)
		}
	}
	// Without Device.Read.All, devices come with limited information.
	u.Devices = []model.Device{{ID: "d1", DisplayName: "PC", OperatingSystem: "Windows", TrustType: "AzureAd", Registered: true}}
	srv.SetUser(u)
	devices := srv.URL() + "/users/" + id + "/registeredDevices"
	if status, body := getWith(t, devices, "test-token"); status != 200 || !strings.Contains(string(body), `"operatingSystem":"Windows"`) {
		t.Errorf("devices with Device.Read.All: %d %s", status, body)
	}
	if status, body := getWith(t, devices, graphtest.AppToken(graphtest.Without("Device.Read.All")...)); status != 200 ||
		!strings.Contains(string(body), `"id":"d1"`) || strings.Contains(string(body), `"Windows"`) {
		t.Errorf("devices without Device.Read.All: %d %s", status, body)
	}
}

// A $batch item is refused on its own, the others answered.
func TestServerRefusesBatchItemsOneByOne(t *testing.T) {
	t.Parallel()
	dir := synth.Tenant(1, 1)
	srv := graphtest.NewServer(t, dir)
	id := dir.Users[0].ID
	body := `{"requests":[{"id":"1","method":"GET","url":"/users/` + id + `"},{"id":"2","method":"GET","url":"/reports/authenticationMethods/userRegistrationDetails/` + id + `"}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"/$batch", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+graphtest.AppToken(graphtest.Without("AuditLog.Read.All")...))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Responses []struct {
			ID     string `json:"id"`
			Status int    `json:"status"`
		} `json:"responses"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	got := map[string]int{}
	for _, r := range out.Responses {
		got[r.ID] = r.Status
	}
	if got["1"] != 200 || got["2"] != 403 {
		t.Errorf("batch answers %v, want profile 200 and row 403", got)
	}
}
