package demo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// deadLettered reads every message of the dead-letter queue (hiding each for ten minutes, so none is
// read twice) and counts them per record id.
func deadLettered(ctx context.Context, c *sqs.Client, url string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out := map[string]int{}
	for empty := 0; empty < 2; {
		res, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			return out, fmt.Errorf("read the dead-letter queue: %w", err)
		}
		if len(res.Messages) == 0 {
			empty++
			continue
		}
		for _, msg := range res.Messages {
			out[letterID(aws.ToString(msg.Body))]++
		}
	}
	return out, nil
}

// letterID finds the record id of a dead letter: the last part of its dedup key
// (<circuit>#<day>#<id>), or the id in the Kinesis record's data.
func letterID(body string) string {
	var l struct {
		Key    string `json:"key"`
		Record struct {
			Kinesis struct {
				Data string `json:"data"`
			} `json:"kinesis"`
		} `json:"record"`
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		return "(unreadable letter)"
	}
	if parts := strings.SplitN(l.Key, "#", 3); len(parts) == 3 && !strings.HasPrefix(parts[2], "delivery:") {
		return parts[2]
	}
	if data, err := base64.StdEncoding.DecodeString(l.Record.Kinesis.Data); err == nil {
		var rec struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(data, &rec) == nil && rec.ID != "" {
			return rec.ID
		}
	}
	return "(letter without a record id)"
}

// dedupStatuses counts the dedup table's items per status.
func dedupStatuses(ctx context.Context, db *dynamodb.Client, table string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out := map[string]int{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName: aws.String(table), ProjectionExpression: aws.String("#s"), ExpressionAttributeNames: map[string]string{"#s": "status"},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return out, fmt.Errorf("scan the dedup table: %w", err)
		}
		for _, item := range page.Items {
			st := "(none)"
			if v, ok := item["status"].(*ddbtypes.AttributeValueMemberS); ok {
				st = v.Value
			}
			out[st]++
		}
	}
	return out, nil
}
