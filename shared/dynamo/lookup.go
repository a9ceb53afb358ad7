package dynamo

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/doormanhq/doorman/shared/invite"
)

var _ invite.EventStore = (*Store)(nil)

// lookupKey is what one key of a Lookup read stands for.
type lookupKey struct {
	prefix string // USER#, ORGMAIL#, AUTH0INV# or LOG#
	id     string // the user id, Auth0 invitation id or log id
	org    invite.OrgEmail
}

// Lookup implements invite.EventStore: the lookup items of the users, organization
// emails and Auth0 invitations, and the processed-log items, in one BatchGetItem (one
// per 100 keys beyond 100), then the invitations the lookup items name in a second
// (resolve); a batch whose keys find no invitation is one request.
func (s *Store) Lookup(ctx context.Context, keys invite.LookupKeys) (*invite.Lookup, error) {
	const op = "look up log-stream candidates"
	out := &invite.Lookup{
		ByUserID:            map[string]*invite.Invitation{},
		ByOrgEmail:          map[invite.OrgEmail]*invite.Invitation{},
		ByAuth0InvitationID: map[string]*invite.Invitation{},
		Processed:           map[string]bool{},
	}
	byPK := map[string]lookupKey{}
	var all []map[string]types.AttributeValue
	add := func(k map[string]types.AttributeValue, lk lookupKey) {
		pk := pkOf(k)
		if _, dup := byPK[pk]; !dup {
			byPK[pk] = lk
			all = append(all, k)
		}
	}
	for _, id := range keys.UserIDs {
		if id != "" {
			add(userKey(id), lookupKey{prefix: "USER#", id: id})
		}
	}
	for _, oe := range keys.OrgEmails {
		if oe.OrgID != "" && oe.EmailKey != "" {
			add(orgEmailKey(oe.OrgID, oe.EmailKey), lookupKey{prefix: "ORGMAIL#", org: oe})
		}
	}
	for _, id := range keys.Auth0InvitationIDs {
		if id != "" {
			add(auth0InvitationKey(id), lookupKey{prefix: "AUTH0INV#", id: id})
		}
	}
	for _, id := range keys.LogIDs {
		if id != "" {
			add(logKey(id), lookupKey{prefix: "LOG#", id: id})
		}
	}
	now := s.opts.Now().Unix()
	var pointers []map[string]types.AttributeValue
	for start := 0; start < len(all); start += maxBatchUsers {
		items, err := s.batchGet(ctx, op, all[start:min(start+maxBatchUsers, len(all))], true)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			d := &decoder{m: item}
			switch byPK[d.s(attrPK)].prefix {
			case "":
			case "LOG#":
				// TTL deletion lags: an expired mark no longer counts.
				if ttl := d.n(attrTTL); ttl == 0 || int64(ttl) > now {
					out.Processed[byPK[d.s(attrPK)].id] = true
				}
			default:
				pointers = append(pointers, item)
			}
		}
	}
	found, err := s.resolve(ctx, op, pointers)
	if err != nil {
		return nil, err
	}
	for pk, inv := range found {
		// A lookup item is trusted only when its invitation still has its key.
		switch lk := byPK[pk]; lk.prefix {
		case "USER#":
			if inv.Auth0UserID == lk.id {
				out.ByUserID[lk.id] = inv
			}
		case "ORGMAIL#":
			if inv.OrganizationID == lk.org.OrgID && invite.EmailKey(inv.Email) == lk.org.EmailKey {
				out.ByOrgEmail[lk.org] = inv
			}
		case "AUTH0INV#":
			if inv.Auth0InvitationID == lk.id {
				out.ByAuth0InvitationID[lk.id] = inv
			}
		}
	}
	return out, nil
}

// resolve reads the invitations that lookup items name, strongly consistent, in one
// BatchGetItem per 100, and returns them by the lookup item's partition key; items
// whose invitation is gone are left out. A lookup item written before they were
// pointers is a full copy of its invitation as it once was: only its id is read.
func (s *Store) resolve(ctx context.Context, op string, items []map[string]types.AttributeValue) (map[string]*invite.Invitation, error) {
	idOf := make(map[string]string, len(items)) // partition key → invitation id
	var ids []string
	seen := make(map[string]bool, len(items))
	for _, item := range items {
		d := &decoder{m: item}
		id := d.s(attrInvID)
		if id == "" {
			id = d.s(attrID) // a copy
		}
		if d.err != nil {
			return nil, s.fail("decode lookup item", d.err)
		}
		if id == "" {
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		idOf[d.s(attrPK)] = id
	}
	byID := make(map[string]*invite.Invitation, len(ids))
	for start := 0; start < len(ids); start += maxPageSize {
		invs, err := s.getInvitations(ctx, op, ids[start:min(start+maxPageSize, len(ids))], true)
		if err != nil {
			return nil, err
		}
		for _, inv := range invs {
			byID[inv.ID] = inv
		}
	}
	out := make(map[string]*invite.Invitation, len(idOf))
	given := make(map[string]bool, len(byID))
	for pk, id := range idOf {
		inv, ok := byID[id]
		if !ok {
			continue
		}
		if given[id] {
			inv = inv.Clone() // each key its own invitation, as each copy was
		}
		given[id] = true
		out[pk] = inv
	}
	return out, nil
}
