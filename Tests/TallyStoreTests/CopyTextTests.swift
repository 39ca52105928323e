import Testing
@testable import TallyStore

/// COPY's text format, as PostgreSQL reads it: integers in decimal, NULL as `\N`, escapes.
@Suite struct CopyTextTests {
    @Test func integersNullsAndEscapes() {
        var copy = CopyText()
        for value: Int64? in [0, 7, -1, 42, 1_000_000, Int64.max, Int64.min, nil] { copy.int(value) }
        copy.endRow()
        copy.text("a\tb\\c\nd"); copy.text(nil); copy.text("plain"); copy.bool(true)
        copy.endRow()
        let bytes = copy.take()
        let text = bytes.getString(at: bytes.readerIndex, length: bytes.readableBytes)
        #expect(text == "0\t7\t-1\t42\t1000000\t9223372036854775807\t-9223372036854775808\t\\N\n"
            + "a\\tb\\\\c\\nd\t\\N\tplain\tt\n")
        #expect(copy.byteCount == 0)
    }
}
