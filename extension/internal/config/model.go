package config

// InitTypeManagedInstances is AWS_LAMBDA_INITIALIZATION_TYPE on Lambda Managed Instances; the other
// values (on-demand, provisioned-concurrency, snap-start) all mean the default model.
const InitTypeManagedInstances = "lambda-managed-instances"

// managedInstances reports whether Lambda set AWS_LAMBDA_INITIALIZATION_TYPE to Lambda Managed
// Instances (read with get, which trims the value).
func managedInstances(get func(string) string) bool {
	return get("AWS_LAMBDA_INITIALIZATION_TYPE") == InitTypeManagedInstances
}
