"""Safety first: spotting signs of abuse, violence, coercion, fear or self-harm, and
pointing to real help. The phrases and the helplines are data (YAML) beside this file."""
