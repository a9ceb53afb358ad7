package dynamo

import (
	"context"
	"strings"

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

// Lookup implements invite.EventStore: the copy items of the users, organization
// emails and Auth0 invitations, and the processed-log items, all in one BatchGetItem
// (one per 100 keys beyond 100), with unprocessed keys retried.
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
		pk := k[attrPK].(*types.AttributeValueMemberS).Value
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
	for start := 0; start < len(all); start += maxBatchUsers {
		items, err := s.batchGet(ctx, op, all[start:min(start+maxBatchUsers, len(all))], true)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			d := &decoder{m: item}
			lk, ok := byPK[d.s(attrPK)]
			if !ok {
				continue
			}
			if lk.prefix == "LOG#" {
				// TTL deletion lags: an expired mark no longer counts.
				if ttl := d.n(attrTTL); ttl == 0 || int64(ttl) > now {
					out.Processed[lk.id] = true
				}
				continue
			}
			inv, err := decodeInvitation(item)
			if err != nil {
				return nil, s.fail("decode "+strings.TrimSuffix(lk.prefix, "#")+" copy", err)
			}
			// A copy is trusted only when it still names its key, as GetByAuth0UserIDs does.
			switch lk.prefix {
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
	}
	return out, nil
}
