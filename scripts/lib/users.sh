# Shared by the throwaway-server scripts: a server is "acquired" by test runs (one file per run's
# pid under $users) and stopped by the last run to release it.

# Forget users whose process has ended (a run that was killed never released).
prune() {
  mkdir -p "$users"
  for file in "$users"/*; do
    [ -e "$file" ] || continue
    kill -0 "$(basename "$file")" 2>/dev/null || rm -f "$file"
  done
}

# Whether no live user is left.
unused() { [ -z "$(ls -A "$users")" ]; }
