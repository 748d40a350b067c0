package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credres/credres/pkg/model"
)

// The tenant's policy changes live in the state table beside the users,
// under keys no Entra object id can be (they begin with '#'):
//
//	#policy-changes            the index: the audit ids of the changes the
//	                           sweep still has to act on (string set pending)
//	#policy-change/<audit id>  one change: the change as JSON, when it was
//	                           recorded and swept, the drops counted
//
// and each user item counted as dropped by a change carries that change's
// audit id (policyDrop), so that a user is counted once however often the
// evaluation is retried.
const (
	policyIndexKey   = "#policy-changes"
	policyItemPrefix = "#policy-change/"

	attrPending      = "pending"
	attrChange       = "policyChange"
	attrRecorded     = "recorded"
	attrSweptAt      = "sweptAt"
	attrUsers        = "users"
	attrDropped      = "dropped"
	attrHeld         = "held"
	attrViolations   = "violations"
	attrGraceUntil   = "graceUntil"
	attrGraceSweptAt = "graceSweptAt"
	attrTicketAt     = "ticketAt"
	attrPolicyDrop   = "policyDrop"
)

// policyForget is how long a change that held nobody stays in the index
// after its sweep: longer than any grace period, so that a drop counted
// late still has its grace-period sweep.
const policyForget = 31 * 24 * time.Hour

func policyKey(auditID string) map[string]types.AttributeValue {
	return key(policyItemPrefix + auditID)
}

func number(n int) types.AttributeValue { return &types.AttributeValueMemberN{Value: strconv.Itoa(n)} }

// AddPolicyChange records c as waiting for the sweep, once per audit id: a
// conditional put of the change, then its id added to the index (a set, so
// adding twice is adding once). A repeated record returns false; it adds
// the id again unless the change is finished, which repairs an index write
// that failed after the put.
func (s *DynamoDB) AddPolicyChange(ctx context.Context, c model.PolicyChange, at time.Time) (bool, error) {
	const op = "add policy change"
	if err := c.Validate(); err != nil {
		return false, err
	}
	data, err := json.Marshal(c)
	if err != nil {
		return false, fail(op, c.AuditID, err)
	}
	recorded, err := nanoValue(at)
	if err != nil {
		return false, fail(op, c.AuditID, err)
	}
	item := policyKey(c.AuditID)
	item[attrChange] = &types.AttributeValueMemberS{Value: string(data)}
	item[attrRecorded] = recorded
	item[attrViolations] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(s.stateTable),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK},
	})
	added := true
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		added = false
		st, err := s.LoadPolicyChange(ctx, c.AuditID)
		if err != nil {
			return false, err
		}
		if policyFinished(st, s.now()) {
			return false, nil
		}
	case err != nil:
		return false, fail(op, c.AuditID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(policyIndexKey),
		UpdateExpression:          aws.String("ADD #p :id"),
		ExpressionAttributeNames:  map[string]string{"#p": attrPending},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{c.AuditID}}},
	})
	if err != nil {
		return false, fail(op, c.AuditID, err)
	}
	return added, nil
}

// policyFinished reports a change the sweep has nothing more to do for:
// its grace-period sweep ran, or it held nobody long after its sweep.
func policyFinished(st model.PolicyChangeState, now time.Time) bool {
	return !st.GraceSweptAt.IsZero() || (!st.SweptAt.IsZero() && st.Held == 0 && now.Sub(st.SweptAt) > policyForget)
}

// PolicyChanges returns the changes of the index, oldest first, and takes
// the finished ones out of it.
func (s *DynamoDB) PolicyChanges(ctx context.Context) ([]model.PolicyChangeState, error) {
	const op = "read policy changes"
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.stateTable), Key: key(policyIndexKey), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fail(op, policyIndexKey, err)
	}
	set, _ := out.Item[attrPending].(*types.AttributeValueMemberSS)
	if set == nil {
		return nil, nil
	}
	var changes []model.PolicyChangeState
	var finished []string
	for _, id := range set.Value {
		st, err := s.LoadPolicyChange(ctx, id)
		if errors.Is(err, model.ErrNotFound) {
			finished = append(finished, id)
			continue
		}
		if err != nil {
			return nil, err
		}
		if policyFinished(st, s.now()) {
			finished = append(finished, id)
			continue
		}
		changes = append(changes, st)
	}
	if len(finished) > 0 {
		_, err := s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(s.stateTable),
			Key:                       key(policyIndexKey),
			UpdateExpression:          aws.String("DELETE #p :ids"),
			ExpressionAttributeNames:  map[string]string{"#p": attrPending},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ids": &types.AttributeValueMemberSS{Value: finished}},
		})
		if err != nil {
			return nil, fail(op, policyIndexKey, err)
		}
	}
	slices.SortFunc(changes, func(a, b model.PolicyChangeState) int { return a.Change.Time.Compare(b.Change.Time) })
	return changes, nil
}

// LoadPolicyChange returns one change; an unknown one is model.ErrNotFound.
func (s *DynamoDB) LoadPolicyChange(ctx context.Context, auditID string) (model.PolicyChangeState, error) {
	const op = "load policy change"
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.stateTable), Key: policyKey(auditID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return model.PolicyChangeState{}, fail(op, auditID, err)
	}
	if out.Item == nil {
		return model.PolicyChangeState{}, fmt.Errorf("store: %s %s: %w", op, auditID, model.ErrNotFound)
	}
	st, err := decodePolicyChange(out.Item)
	if err != nil {
		return st, fail(op, auditID, err)
	}
	return st, nil
}

func decodePolicyChange(item map[string]types.AttributeValue) (model.PolicyChangeState, error) {
	var st model.PolicyChangeState
	sv, ok := item[attrChange].(*types.AttributeValueMemberS)
	if !ok {
		return st, fmt.Errorf("attribute %s: missing or not a string", attrChange)
	}
	if err := json.Unmarshal([]byte(sv.Value), &st.Change); err != nil {
		return st, fmt.Errorf("attribute %s: %w", attrChange, err)
	}
	for name, t := range map[string]*time.Time{attrRecorded: &st.Recorded, attrSweptAt: &st.SweptAt,
		attrGraceUntil: &st.GraceUntil, attrGraceSweptAt: &st.GraceSweptAt, attrTicketAt: &st.TicketAt} {
		if av, ok := item[name]; ok {
			v, err := nanoTime(av)
			if err != nil {
				return st, fmt.Errorf("attribute %s: %w", name, err)
			}
			*t = v
		}
	}
	for name, n := range map[string]*int{attrUsers: &st.Users, attrDropped: &st.Dropped, attrHeld: &st.Held} {
		if av, ok := item[name]; ok {
			v, err := intValue(av)
			if err != nil {
				return st, fmt.Errorf("attribute %s: %w", name, err)
			}
			*n = v
		}
	}
	if m, ok := item[attrViolations].(*types.AttributeValueMemberM); ok && len(m.Value) > 0 {
		st.Violations = map[model.Violation]int{}
		for k, av := range m.Value {
			v, err := intValue(av)
			if err != nil {
				return st, fmt.Errorf("attribute %s.%s: %w", attrViolations, k, err)
			}
			st.Violations[model.Violation(k)] = v
		}
	}
	return st, nil
}

func intValue(av types.AttributeValue) (int, error) {
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("not a number but %T", av)
	}
	return strconv.Atoi(n.Value)
}

// MarkPolicySwept records the sweep of a change; its grace-period sweep
// takes it out of the index as well.
func (s *DynamoDB) MarkPolicySwept(ctx context.Context, auditID string, at time.Time, users int, grace bool) error {
	const op = "mark policy change swept"
	v, err := nanoValue(at)
	if err != nil {
		return fail(op, auditID, err)
	}
	expr, values := "SET #s = :at, #u = :n", map[string]types.AttributeValue{":at": v, ":n": number(users)}
	names := map[string]string{"#pk": attrPK, "#s": attrSweptAt, "#u": attrUsers}
	if grace {
		expr, values = "SET #s = :at", map[string]types.AttributeValue{":at": v}
		names = map[string]string{"#pk": attrPK, "#s": attrGraceSweptAt}
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.stateTable), Key: policyKey(auditID),
		UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return fmt.Errorf("store: %s %s: %w", op, auditID, model.ErrNotFound)
	}
	if err != nil {
		return fail(op, auditID, err)
	}
	if !grace {
		return nil
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.stateTable),
		Key:                       key(policyIndexKey),
		UpdateExpression:          aws.String("DELETE #p :id"),
		ExpressionAttributeNames:  map[string]string{"#p": attrPending},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberSS{Value: []string{auditID}}},
	})
	if err != nil {
		return fail(op, auditID, err)
	}
	return nil
}

// CountPolicyDrop counts a user dropped by a change in one transaction
// with the user's mark (policyDrop = the change's audit id), which the
// transaction requires not to be there yet: a user is counted once per
// change. The change as counted is read back.
func (s *DynamoDB) CountPolicyDrop(ctx context.Context, auditID, userID string, violations []model.Violation, heldUntil time.Time) (model.PolicyChangeState, error) {
	const op = "count policy drop"
	if userID == "" {
		return model.PolicyChangeState{}, invalid(op, userID, "empty user id")
	}
	held := 0
	if !heldUntil.IsZero() {
		held = 1
	}
	expr := "SET #d = if_not_exists(#d, :zero) + :one, #h = if_not_exists(#h, :zero) + :held"
	names := map[string]string{"#pk": attrPK, "#d": attrDropped, "#h": attrHeld, "#v": attrViolations}
	values := map[string]types.AttributeValue{":zero": number(0), ":one": number(1), ":held": number(held)}
	if held > 0 {
		g, err := nanoValue(heldUntil)
		if err != nil {
			return model.PolicyChangeState{}, fail(op, auditID, err)
		}
		expr += ", #g = :g"
		names["#g"], values[":g"] = attrGraceUntil, g
	}
	for i, v := range slices.Compact(slices.Sorted(slices.Values(violations))) {
		n := "#v" + strconv.Itoa(i)
		expr += fmt.Sprintf(", #v.%s = if_not_exists(#v.%s, :zero) + :one", n, n)
		names[n] = string(v)
	}
	_, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: aws.String(s.stateTable), Key: key(userID),
			UpdateExpression:          aws.String("SET #m = :id"),
			ConditionExpression:       aws.String("attribute_not_exists(#m) OR #m <> :id"),
			ExpressionAttributeNames:  map[string]string{"#m": attrPolicyDrop},
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: auditID}},
		}},
		{Update: &types.Update{
			TableName: aws.String(s.stateTable), Key: policyKey(auditID),
			UpdateExpression: aws.String(expr), ConditionExpression: aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames: names, ExpressionAttributeValues: values,
		}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		reasons := tce.CancellationReasons
		switch {
		case len(reasons) == 2 && aws.ToString(reasons[1].Code) == "ConditionalCheckFailed":
			return model.PolicyChangeState{}, fmt.Errorf("store: %s %s: %w", op, auditID, model.ErrNotFound)
		case len(reasons) == 2 && aws.ToString(reasons[0].Code) == "ConditionalCheckFailed":
			// Counted before.
		default:
			return model.PolicyChangeState{}, fail(op, auditID, err)
		}
	} else if err != nil {
		return model.PolicyChangeState{}, fail(op, auditID, err)
	}
	return s.LoadPolicyChange(ctx, auditID)
}

// ClaimPolicyTicket sets ticketAt if the drops reached threshold and no
// ticket was decided before: one conditional update, which one caller wins.
func (s *DynamoDB) ClaimPolicyTicket(ctx context.Context, auditID string, threshold int, at time.Time) (bool, error) {
	const op = "claim policy ticket"
	v, err := nanoValue(at)
	if err != nil {
		return false, fail(op, auditID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.stateTable), Key: policyKey(auditID),
		UpdateExpression:          aws.String("SET #t = :at"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#t) AND #d >= :th"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#t": attrTicketAt, "#d": attrDropped},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": v, ":th": number(threshold)},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fail(op, auditID, err)
	}
	return true, nil
}
