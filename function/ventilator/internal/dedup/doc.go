// Package dedup keeps the ventilator's record of which records were processed, so that a record
// succeeds at most once per day even when a batch is replayed, retried or delivered to two
// ventilators at once.
//
// The table (DEDUP_TABLE) has a string partition key pk and TTL on expiresAt (epoch seconds). One
// item per record and day:
//
//	pk = "<circuit>#<UTC date of the record's arrival>#<record id>"
//	status     claimed | failed | done | dlq
//	attempts   worker calls claimed so far (atomic ADD)
//	owner      the ventilator invocation holding the claim
//	claimUntil epoch ms after which an unfinished claim is presumed abandoned
//	lastError, reason, updatedAt (epoch ms), expiresAt (epoch s)
//
// Protocol: [Table.Claim] is one conditional UpdateItem that takes the record when it is new, failed,
// or claimed by a claim that has expired, and counts the attempt. When the condition fails, the item
// returned with the failure says why: done or dlq (skip as a success) or claimed by a live claim
// (retry later). The claim's owner then calls [Table.Complete], [Table.Release], [Table.Refused] (a
// release that gives the attempt back) or [Table.MarkDeadLettered], each conditional on still
// owning the claim.
//
// A failed call is released without an attempt (by Refused) until the ventilator knows whose fault
// it was; [Table.Charge] then counts the attempt of a failure that was the record's own, conditional
// on the record still being failed, so an outage never uses up a record's attempts.
package dedup
