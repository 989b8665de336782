import CLEXFormats
import Testing

@Suite("file paths") struct FilePathTests {
    @Test("the folder of a path, where NSString traps on one character and gives \"\" for a bare name")
    func folder() {
        #expect(FilePath.folder(of: "2") == ".")
        #expect(FilePath.folder(of: " ") == ".")
        #expect(FilePath.folder(of: "model.gguf") == ".")
        #expect(FilePath.folder(of: "runs/a/") == "runs")
        #expect(FilePath.folder(of: "runs/a/model.gguf") == "runs/a")
        #expect(FilePath.folder(of: "/model.gguf") == "/")
        #expect(FilePath.folder(of: "/") == "/")
    }
}
