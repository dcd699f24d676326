import Foundation
import HooklogStore
import Testing

@testable import HooklogReplay

@Suite struct RequestBuilderTests {
    func headers(
        _ given: [(String, String)], signing: ReplayConfiguration.Signing = .none
    ) async throws -> [(String, String)] {
        let archive = try await TestArchive(count: 1)
        defer { archive.remove() }
        var configuration = ReplayConfiguration(url: "http://h/", filter: .init())
        configuration.headers = given
        configuration.signing = signing
        configuration.secret = "s"
        return RequestBuilder(configuration: configuration, archiveID: "x").build(try archive.events(), nowSeconds: 1)
            .headers
    }

    @Test func aGivenHeaderReplacesTheDefaultOfTheSameNameInAnyCase() async throws {
        #expect(try await headers([]).map(\.0) == ["Content-Type"])
        for name in ["Content-Type", "content-type", "CONTENT-TYPE"] {
            let h = try await headers([(name, "application/cloudevents+json"), ("X-Tenant", "acme")])
            #expect(
                h.filter { $0.0.lowercased() == "content-type" }.map(\.1) == ["application/cloudevents+json"], "\(name)"
            )
            #expect(h.contains { $0 == ("X-Tenant", "acme") })
        }
        let signed = try await headers([("content-type", "text/plain")], signing: .orderspace)
        #expect(signed.map { $0.0.lowercased() } == ["content-type", "x-orderspace-signature"])
    }
}
