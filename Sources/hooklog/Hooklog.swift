import ArgumentParser

@main
struct Hooklog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A self-hosted archive for webhook events.")
}
