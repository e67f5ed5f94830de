package config

import (
	"fmt"
	"strings"
)

// Source is the kind of event source a mapping reads.
type Source string

// Kinds of event source.
const (
	SourceKinesis Source = "kinesis"
	SourceSQS     Source = "sqs"
	SourceSQSFIFO Source = "sqs-fifo"
)

// SourceOf tells the kind of event source from its ARN: a Kinesis stream, an SQS queue, or an SQS
// FIFO queue (its name ends in ".fifo").
func SourceOf(arn string) (Source, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" && parts[5] != "" {
		switch parts[2] {
		case "kinesis":
			if strings.HasPrefix(parts[5], "stream/") {
				return SourceKinesis, nil
			}
		case "sqs":
			if strings.HasSuffix(parts[5], ".fifo") {
				return SourceSQSFIFO, nil
			}
			return SourceSQS, nil
		}
	}
	return "", fmt.Errorf("want the ARN of a Kinesis stream or an SQS queue, got %q", arn)
}
