package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/doormanhq/doorman/shared/invite"
)

// fail wraps an error of a DynamoDB call as "dynamo: <op>: <invite.Error>", the
// invite.Error carrying the code the Store contract promises. The SDK has already
// retried throttling and transient faults by the time an error gets here.
func (s *Store) fail(op string, err error) error {
	if invite.AsError(err) != nil {
		return fmt.Errorf("dynamo: %s: %w", op, err)
	}
	return fmt.Errorf("dynamo: %s: %w", op, s.classify(err))
}

func (s *Store) classify(err error) *invite.Error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return invite.Wrap(invite.CodeUpstream, err, "the database did not answer in time")
	}
	var (
		missing   *types.ResourceNotFoundException
		condition *types.ConditionalCheckFailedException
		canceled  *types.TransactionCanceledException
		api       smithy.APIError
	)
	switch {
	case errors.As(err, &missing):
		return invite.Wrap(invite.CodeInternal, err, "table %s does not exist", s.table)
	case errors.As(err, &canceled) && cancelledAsInvalid(canceled):
		// An item over 400 KB, or one DynamoDB refuses otherwise: no retry can help.
		return invite.Wrap(invite.CodeInvalid, err, "the database refused the item")
	case errors.As(err, &condition), errors.As(err, &canceled):
		return invite.Wrap(invite.CodeConflict, err, "the item changed concurrently")
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
			"TransactionInProgressException", "TransactionConflictException", "InternalServerError",
			"ServiceUnavailable", "LimitExceededException":
			return invite.Wrap(invite.CodeUpstream, err, "the database is unavailable")
		}
		if api.ErrorFault() == smithy.FaultServer {
			return invite.Wrap(invite.CodeUpstream, err, "the database is unavailable")
		}
		if api.ErrorCode() == "ValidationException" {
			// The request itself (an item over 400 KB, say): retrying cannot help.
			return invite.Wrap(invite.CodeInvalid, err, "the database refused the item")
		}
		// Access errors are misconfiguration an operator can fix: worth a retry.
		return invite.Wrap(invite.CodeInternal, err, "the database refused the request")
	default:
		// Transport errors: the endpoint is unreachable after the SDK's retries.
		return invite.Wrap(invite.CodeUpstream, err, "the database is unreachable")
	}
}

func conflict(existingID, format string, args ...any) *invite.Error {
	e := invite.Errorf(invite.CodeConflict, format, args...)
	e.ExistingID = existingID
	return e
}

func notFound(format string, args ...any) *invite.Error {
	return invite.Errorf(invite.CodeNotFound, format, args...)
}

// cancelledAsInvalid reports whether a transaction was cancelled because DynamoDB
// refused one of its items (ValidationError), rather than by a condition or a race.
func cancelledAsInvalid(e *types.TransactionCanceledException) bool {
	for _, r := range e.CancellationReasons {
		if aws.ToString(r.Code) == "ValidationError" {
			return true
		}
	}
	return false
}
