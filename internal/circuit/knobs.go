package circuit

// Knob names one policy knob: its key in a circuit's own policy map and the environment variable
// that sets it for a whole process. Knobs lists the table PolicyFromEnv and Policy.WithOverrides
// read, so a knob added there is listed by every tool that shows or sets knobs, unedited.
type Knob struct {
	Key string // key in the circuit item's policy map, e.g. failureRate
	Env string // environment variable, e.g. BREAKERBOX_FAILURE_RATE
}

// Knobs lists every policy knob, in the order of the table that parses them.
func Knobs() []Knob {
	out := make([]Knob, len(knobs))
	for i, k := range knobs {
		out[i] = Knob{Key: k.key, Env: k.env}
	}
	return out
}
