package model

import "time"

// ChangeOp says what happened to a method type in a method-change event.
type ChangeOp string

// The change operations an audit record can carry.
const (
	ChangeAdded      ChangeOp = "added"
	ChangeRemoved    ChangeOp = "removed"
	ChangeDefault    ChangeOp = "default" // became the default method
	ChangeUpdated    ChangeOp = "updated"
	ChangeRegistered ChangeOp = "registered" // "… registered security info": method named by the result reason
	ChangeDeleted    ChangeOp = "deleted"
)

// MethodChange is one method-level change read from an audit record.
type MethodChange struct {
	Op ChangeOp `json:"op"`
	// Method names the method: a StrongAuthenticationMethod type
	// ("TwoWaySms", "PhoneAppNotification", …), "AuthenticatorApp" for a
	// StrongAuthenticationPhoneAppDetail change, or the free-text label of the
	// result reason ("Fido2 Authentication Method").
	Method string `json:"method"`
}

// Initiator is who caused an audit record: a user or an application.
type Initiator struct {
	UserID            string `json:"userId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	AppID             string `json:"appId,omitempty"`
	AppDisplayName    string `json:"appDisplayName,omitempty"`
}

// MethodChangeEvent is one relevant Entra audit record, normalised. It says
// which user to re-evaluate and why; the methods themselves are always read
// live (docs/DESIGN.md, Audit events).
type MethodChangeEvent struct {
	AuditID           string         `json:"auditId"`
	Activity          string         `json:"activity"`
	Time              time.Time      `json:"time"`
	TenantID          string         `json:"tenantId,omitempty"`
	UserID            string         `json:"userId"`
	UserPrincipalName string         `json:"userPrincipalName,omitempty"`
	InitiatedBy       Initiator      `json:"initiatedBy"`
	SelfService       bool           `json:"selfService"`
	Changes           []MethodChange `json:"changes"`
	Result            string         `json:"result"`
}
