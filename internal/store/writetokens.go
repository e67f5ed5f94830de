package store

import (
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Write tokens: how a conditional PutItem knows its own write when the SDK retried it.
//
// A PutItem that succeeded but whose answer was lost is retried by the SDK, and the retry fails its
// own condition. The item as the failed condition returns it tells whether the write took place:
// each write marks the item with a random token (writeToken) and keeps the tokens of the item's
// latest writes (writeTokens, oldest first), so the retry finds its token even after other writers
// wrote over it. Taking it for a lost race instead would re-decide on the winner's item and apply
// the write's decision twice. The circuit item and the ventilator's controller item both use it.

// KeptWriteTokens is how many write tokens an item keeps: with more writes than this between a
// write and the SDK's retry of it, the retry takes the write for a lost race.
const KeptWriteTokens = 32

// MarkWrite marks item, about to be written over an item whose latest writes' tokens are prev, with
// a new token, and returns it.
func MarkWrite(item map[string]types.AttributeValue, prev []string) string {
	token := strconv.FormatUint(rand.Uint64(), 36)
	prev = prev[max(len(prev)-(KeptWriteTokens-1), 0):]
	l := make([]types.AttributeValue, 0, len(prev)+1)
	for _, t := range prev {
		l = append(l, str(t))
	}
	item[attrWriteToken] = str(token)
	item[attrWriteTokens] = &types.AttributeValueMemberL{Value: append(l, str(token))}
	return token
}

// WriteTokens reads the tokens of item's latest writes, oldest first: the list, or, on an item
// written before there was one, its last write's token alone. Entries that are not strings are
// skipped (the circuit codec refuses them; here they only mean "not this write").
func WriteTokens(item map[string]types.AttributeValue) []string {
	l, ok := item[attrWriteTokens].(*types.AttributeValueMemberL)
	if !ok {
		if t, ok := item[attrWriteToken].(*types.AttributeValueMemberS); ok {
			return []string{t.Value}
		}
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

// Wrote reports whether item, as a failed condition returned it, carries token among its latest
// writes: the write that token marks took place.
func Wrote(item map[string]types.AttributeValue, token string) bool {
	return slices.Contains(WriteTokens(item), token)
}
