package httpapi_test

import (
	"github.com/doormanhq/doorman/shared/dynamo"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

// The adapters the functions wire in implement the ports declared here.
var (
	_ httpapi.IdempotencyStore   = (*dynamo.Store)(nil)
	_ httpapi.IdempotencyStore   = (*inmem.Idempotency)(nil)
	_ httpapi.Counter            = (*dynamo.Counter)(nil)
	_ httpapi.Counter            = (*inmem.Counter)(nil)
	_ httpapi.OrganizationLookup = invite.Identity(nil)
)
