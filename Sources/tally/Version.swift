/// The release number, bumped by hand when a release is cut; the commit comes from the build.
enum TallyVersion {
    static let number = "0.9.0"
    static var description: String { "tally \(number) (commit \(BuildInfo.commit))" }
}
