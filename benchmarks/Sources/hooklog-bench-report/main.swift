// Prints the summary lines of a benchmark run (HOOKLOG_BENCH_RUN, as run.sh sets it): each figure beside
// its reference from the same run, with the ratio and the target.
import BenchSupport

let lines = Results.summary()
if lines.isEmpty {
    print("no results for run '\(BenchEnv.runID)' under \(BenchEnv.dataRoot)/results")
} else {
    print("hooklog benchmarks, run \(BenchEnv.runID):")
    for line in lines { print(line) }
}
