package graph

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/credres/credres/pkg/model"
)

// errDevicesLimited is a device list whose devices came without their
// properties: the app may list them but not read devices.
var errDevicesLimited = fmt.Errorf("devices came without their properties: grant the app Device.Read.All")

// parseDevices decodes a page of /registeredDevices or /ownedDevices:
// the microsoft.graph.device objects of the page (other directory objects,
// such as printers' service principals, are skipped), marked as listed by
// that relation.
func parseDevices(body []byte, owned bool) ([]model.Device, string, error) {
	var page struct {
		Next  string `json:"@odata.nextLink"`
		Value []struct {
			Type                   string  `json:"@odata.type"`
			ID                     string  `json:"id"`
			DisplayName            *string `json:"displayName"`
			OperatingSystem        *string `json:"operatingSystem"`
			OperatingSystemVersion *string `json:"operatingSystemVersion"`
			TrustType              *string `json:"trustType"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("decode devices: %w: %v", model.ErrInvalidInput, err)
	}
	var out []model.Device
	for _, o := range page.Value {
		if !strings.EqualFold(o.Type, "#microsoft.graph.device") || o.ID == "" {
			continue
		}
		if o.DisplayName == nil && o.OperatingSystem == nil && o.TrustType == nil {
			return nil, "", errDevicesLimited
		}
		out = append(out, model.Device{
			ID: o.ID, DisplayName: deref(o.DisplayName), OperatingSystem: deref(o.OperatingSystem),
			OperatingSystemVersion: deref(o.OperatingSystemVersion), TrustType: deref(o.TrustType),
			Registered: !owned, Owned: owned,
		})
	}
	return out, page.Next, nil
}

// mergeDevices adds devices to a user's, one entry per device id: a device
// both registered and owned is listed once with both flags.
func mergeDevices(have, add []model.Device) []model.Device {
	for _, d := range add {
		i := -1
		for j := range have {
			if strings.EqualFold(have[j].ID, d.ID) {
				i = j
				break
			}
		}
		if i < 0 {
			have = append(have, d)
			continue
		}
		have[i].Registered = have[i].Registered || d.Registered
		have[i].Owned = have[i].Owned || d.Owned
	}
	return have
}
