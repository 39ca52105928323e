import Foundation
import Testing
import TallyConfig

@Suite struct LDIFTests {
    @Test func foldedBase64AndRepeatedValuesAreRead() throws {
        let text = """
            version: 1
            # a comment
            dn: uid=bmuller,ou=people,
             dc=example,dc=org
            UID: bmuller
            displayName:: QmrDtnJuIE3DvGxsZXI=
            mail: bmuller@example.org
            memberOf: cn=a
            memberOf: cn=b

            dn: cn=physics,ou=groups,dc=example,dc=org
            cn: physics
            description: a long line that ldapsearch
              folded (the space after the fold is the value's)
            """
        let entries = try LDIF.entries(text + "\n")
        #expect(entries.count == 2)
        #expect(entries[0].dn == "uid=bmuller,ou=people,dc=example,dc=org")
        #expect(entries[0].first("uid") == "bmuller")
        #expect(entries[0].first("displayname") == "Björn Müller")
        #expect(entries[0].all("memberOf") == ["cn=a", "cn=b"])
        #expect(entries[1].first("description") == "a long line that ldapsearch folded (the space after the fold is the value's)")
        #expect(try LDIF.entries("").isEmpty)
    }

    @Test func brokenLinesNameTheirLine() {
        #expect { try LDIF.entries("dn: a=b\nno colon here\n") } throws: { error in
            (error as? LDIF.Invalid)?.line == 2
        }
        #expect { try LDIF.entries("dn: a=b\nx:: %%%\n") } throws: { error in
            (error as? LDIF.Invalid).map { $0.line == 2 && $0.reason.contains("base64") } == true
        }
        #expect { try LDIF.entries("cn: orphan\n") } throws: { error in
            (error as? LDIF.Invalid)?.reason.contains("before any dn") == true
        }
    }
}
