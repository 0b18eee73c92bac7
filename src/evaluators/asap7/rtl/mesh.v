// gem_mesh: ${R} x ${C} tiles with a pipeline register on every signal between tiles. The WS
// d chain (weight preload) skips those registers: preload needs no skew.
module gem_mesh (input clk, input rst, input ws, input preload, input [${R}-1:0] in_last,
  input [${DIM}*${IB}-1:0] in_a, input [${DIM}*${BW}-1:0] in_b, input [${DIM}*${DW}-1:0] in_d,
  output [${DIM}*${BW}-1:0] out_b, output [${DIM}*${DW}-1:0] out_d);
  localparam R = ${R}, C = ${C}, DF = ${DF};  // DF: 0 OS, 1 WS, 2 BOTH
  localparam AW = ${TR}*${IB}, TBW = ${TC}*${BW}, TDW = ${TC}*${DW};
  wire [R*C*AW-1:0] oa;
  wire [R*C-1:0] ol;
  wire [R*C*TBW-1:0] ob;
  wire [R*C*TDW-1:0] od;
  genvar i, j;
  generate
    for (i = 0; i < R; i = i + 1) begin : row
      for (j = 0; j < C; j = j + 1) begin : col
        wire [AW-1:0] a_in;
        wire l_in;
        wire [TBW-1:0] b_in;
        wire [TDW-1:0] d_in;
        if (j == 0) begin : west
          assign a_in = in_a[i*AW +: AW];
          assign l_in = in_last[i];
        end else begin : east
          reg [AW-1:0] ra;
          reg rl;
          always @(posedge clk) begin ra <= oa[(i*C+j-1)*AW +: AW]; rl <= ol[i*C+j-1]; end
          assign a_in = ra;
          assign l_in = rl;
        end
        if (i == 0) begin : north
          assign b_in = in_b[j*TBW +: TBW];
          assign d_in = in_d[j*TDW +: TDW];
        end else begin : south
          reg [TBW-1:0] rb;
          reg [TDW-1:0] rd;
          always @(posedge clk) begin rb <= ob[((i-1)*C+j)*TBW +: TBW]; rd <= od[((i-1)*C+j)*TDW +: TDW]; end
          assign b_in = rb;
          if (DF == 0) begin : d_os
            assign d_in = rd;
          end else if (DF == 1) begin : d_ws
            assign d_in = od[((i-1)*C+j)*TDW +: TDW];
          end else begin : d_both
            assign d_in = ws ? od[((i-1)*C+j)*TDW +: TDW] : rd;
          end
        end
        gem_tile tile (.clk(clk), .rst(rst), .ws(ws), .preload(preload), .last(l_in),
          .in_a(a_in), .in_b(b_in), .in_d(d_in),
          .out_a(oa[(i*C+j)*AW +: AW]), .out_last(ol[i*C+j]),
          .out_b(ob[(i*C+j)*TBW +: TBW]), .out_d(od[(i*C+j)*TDW +: TDW]));
      end
    end
    for (j = 0; j < C; j = j + 1) begin : out
      assign out_b[j*TBW +: TBW] = ob[((R-1)*C+j)*TBW +: TBW];
      assign out_d[j*TDW +: TDW] = od[((R-1)*C+j)*TDW +: TDW];
    end
  endgenerate
endmodule
