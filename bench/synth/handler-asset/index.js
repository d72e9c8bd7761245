// The user's own Lambda code in the synth benchmark: only its asset matters at synth time, never its behaviour.
exports.handler = async () => undefined;
