package securityhub

// ParseCarefully exposes the part-by-part parser so that tests can check that ParseEvent's one-pass
// decoding never disagrees with it.
var ParseCarefully = parseCarefully

// CheckShape exposes the size, depth and duplicate-key guard ParseEvent runs first.
var CheckShape = checkShape
